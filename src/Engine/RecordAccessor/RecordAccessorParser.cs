using System.Globalization;

namespace Gateway.Engine.RecordAccessor;

/// <summary>
/// Compiles a pattern the way Fluent Bit's <c>ra_parse_buffer</c> (flb_record_accessor.c) splits it, and parses
/// each <c>$key[...]</c> piece with the rules of its flex/bison grammar (src/record_accessor/ra.l, ra.y), so the
/// same pattern yields the same pieces, including Fluent Bit's edge cases (a lone trailing character after an
/// accessor is dropped, <c>$TAG</c> swallows the character after it, <c>$10</c> is capture 10 followed by "0").
/// One deliberate difference: where Fluent Bit's lexer would reject text glued to a complete accessor
/// (<c>$kubernetes['namespace_name']/x</c>), that text is kept as literal text so path-like templates work.
/// </summary>
internal static class RecordAccessorParser
{
    public static List<RecordAccessorPart> Parse(string pattern)
    {
        var parts = new List<RecordAccessorPart>();
        var buf = pattern;
        var len = buf.Length;
        var pre = 0;
        var end = 0;
        var keepTail = false;
        int i;
        for (i = 0; i < len; i++)
        {
            if (buf[i] != '$')
            {
                continue;
            }

            if (i > pre)
            {
                parts.Add(RecordAccessorPart.Literal(buf[pre..i]));
            }

            pre = i;
            keepTail = false;
            var n = i + 1;
            if (n >= len)
            {
                break;
            }

            if (buf[n] is >= '0' and <= '9')
            {
                parts.Add(RecordAccessorPart.RegexCapture(LeadingInteger(buf, n)));
                i++;
                pre = i + 1;
                continue;
            }

            if (n + 2 < len && string.CompareOrdinal(buf, n, "TAG", 0, 3) == 0)
            {
                if (n + 4 < len && buf[n + 3] == '[')
                {
                    var t = n + 3;
                    end = buf.IndexOf(']', t);
                    end = end < 0 ? -1 : end - t;
                    parts.Add(RecordAccessorPart.TagPart(LeadingInteger(buf, t + 1)));
                    i = t + end + 1;
                    pre = i;
                    continue;
                }

                parts.Add(RecordAccessorPart.Tag());
                i = n + 3;
                pre = n + 3;
                continue;
            }

            // The accessor runs to the next separator; a '.' inside a quoted sub-key does not end it.
            var quotes = 0;
            for (end = i + 1; end < len; end++)
            {
                var c = buf[end];
                if (c == '\'')
                {
                    quotes++;
                }
                else if (c == '.' && (quotes & 1) == 1)
                {
                    continue;
                }
                else if (c is '.' or ' ' or ',' or '"')
                {
                    break;
                }
            }

            var used = ParseKeyAccessor(pattern, buf[i..end], parts);
            if (i + used < end)
            {
                // Text glued to the accessor: scan it as ordinary text (it may hold further accessors).
                pre = i + used;
                i = pre - 1;
                keepTail = true;
                continue;
            }

            pre = end;
            i = end;
        }

        // Fluent Bit's tail rule, kept as is: remaining text after the last piece.
        if ((i - 1 > end && pre < i) || i == 1 || keepTail)
        {
            if (pre < len)
            {
                parts.Add(RecordAccessorPart.Literal(buf[pre..]));
            }
        }

        return parts;
    }

    /// <summary>atoi: the leading decimal digits (0 when none), saturating instead of overflowing.</summary>
    private static int LeadingInteger(string s, int start)
    {
        long value = 0;
        for (var k = start; k < s.Length && s[k] is >= '0' and <= '9'; k++)
        {
            value = Math.Min((value * 10) + (s[k] - '0'), int.MaxValue);
        }

        return (int)value;
    }

    private enum TokenKind
    {
        End,
        Dollar,
        Open,
        Close,
        Identifier,
        String,
        Integer,
        Other,
    }

    private ref struct Lexer
    {
        private readonly string _text;
        private int _pos;

        public Lexer(string text)
        {
            _text = text;
            _pos = 0;
            TokenStart = 0;
            Value = string.Empty;
            Number = 0;
        }

        public int TokenStart;
        public string Value;
        public int Number;

        public TokenKind Next()
        {
            Value = string.Empty;
            while (_pos < _text.Length && _text[_pos] is ' ' or '\t' or '\n')
            {
                _pos++;
            }

            TokenStart = _pos;
            if (_pos >= _text.Length)
            {
                return TokenKind.End;
            }

            var c = _text[_pos];
            if (c is >= '0' and <= '9')
            {
                // [1-9][0-9]*|0
                var start = _pos++;
                if (c != '0')
                {
                    while (_pos < _text.Length && _text[_pos] is >= '0' and <= '9')
                    {
                        _pos++;
                    }
                }

                Number = int.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : int.MaxValue;
                return TokenKind.Integer;
            }

            if (c == '\'')
            {
                // '([^']|'')*' with doubled quotes meaning one quote.
                var sb = new System.Text.StringBuilder();
                var k = _pos + 1;
                while (k < _text.Length)
                {
                    if (_text[k] == '\'')
                    {
                        if (k + 1 < _text.Length && _text[k + 1] == '\'')
                        {
                            sb.Append('\'');
                            k += 2;
                            continue;
                        }

                        Value = sb.ToString();
                        _pos = k + 1;
                        return TokenKind.String;
                    }

                    sb.Append(_text[k]);
                    k++;
                }

                _pos++;
                return TokenKind.Other; // unterminated quote: the lexer's catch-all rule
            }

            if (c is '_' or (>= 'A' and <= 'Z') or (>= 'a' and <= 'z'))
            {
                var start = _pos++;
                while (_pos < _text.Length && _text[_pos] is '_' or '.' or '-' or (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9'))
                {
                    _pos++;
                }

                Value = _text[start.._pos];
                return TokenKind.Identifier;
            }

            _pos++;
            return c switch
            {
                '$' => TokenKind.Dollar,
                '[' => TokenKind.Open,
                ']' => TokenKind.Close,
                _ => TokenKind.Other,
            };
        }
    }

    /// <summary><c>'$' IDENTIFIER ( '[' (STRING | INTEGER) ']' )*</c>, with any trailing text kept literally.</summary>
    /// <returns>How many characters of <paramref name="piece"/> the accessor used.</returns>
    private static int ParseKeyAccessor(string pattern, string piece, List<RecordAccessorPart> parts)
    {
        var lexer = new Lexer(piece);
        if (lexer.Next() != TokenKind.Dollar)
        {
            throw new RecordAccessorSyntaxException(pattern, $"expected '$' at '{piece}'");
        }

        if (lexer.Next() != TokenKind.Identifier)
        {
            throw new RecordAccessorSyntaxException(pattern, $"expected a key name after '$' in '{piece}'");
        }

        var name = lexer.Value;
        var subkeys = new List<RecordAccessorSubkey>();
        while (true)
        {
            var token = lexer.Next();
            if (token == TokenKind.End)
            {
                break;
            }

            if (token == TokenKind.Open)
            {
                var inner = lexer.Next();
                if (inner == TokenKind.String)
                {
                    subkeys.Add(RecordAccessorSubkey.ForKey(lexer.Value));
                }
                else if (inner == TokenKind.Integer)
                {
                    subkeys.Add(RecordAccessorSubkey.ForIndex(lexer.Number));
                }
                else
                {
                    throw new RecordAccessorSyntaxException(pattern, $"expected a quoted key or an index inside [] in '{piece}'");
                }

                if (lexer.Next() != TokenKind.Close)
                {
                    throw new RecordAccessorSyntaxException(pattern, $"missing ']' in '{piece}'");
                }

                continue;
            }

            if (token == TokenKind.Other && piece[lexer.TokenStart] != '\'')
            {
                // Text glued to a complete accessor (e.g. "/x"): literal, see the class comment.
                parts.Add(RecordAccessorPart.Key(name, [.. subkeys]));
                return lexer.TokenStart;
            }

            throw new RecordAccessorSyntaxException(pattern, $"unexpected '{piece[lexer.TokenStart..]}' after '${name}'");
        }

        parts.Add(RecordAccessorPart.Key(name, [.. subkeys]));
        return piece.Length;
    }
}
