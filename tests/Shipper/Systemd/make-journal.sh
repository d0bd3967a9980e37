#!/bin/sh
# Converts journal export-format text (FIELD=value lines, a blank line between entries) into a real journal file,
# as the systemd input tests need: make-journal.sh <export-file> <output.journal>
# Needs /lib/systemd/systemd-journal-remote (Debian/Ubuntu package: systemd-journal-remote). When it is missing
# and we are root with apt, it is installed (idempotent); otherwise the script fails saying what to install.
set -eu
if [ "$#" -ne 2 ]; then
    echo "usage: $0 <export-file> <output.journal>" >&2
    exit 2
fi

remote=""
for candidate in /lib/systemd/systemd-journal-remote /usr/lib/systemd/systemd-journal-remote; do
    if [ -x "$candidate" ]; then
        remote="$candidate"
        break
    fi
done

if [ -z "$remote" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        (apt-get install -y -qq systemd-journal-remote || { apt-get update -qq && apt-get install -y -qq systemd-journal-remote; }) >/dev/null 2>&1
        remote=/lib/systemd/systemd-journal-remote
    fi
fi

if [ -z "$remote" ] || [ ! -x "$remote" ]; then
    echo "$0: systemd-journal-remote is not installed (apt-get install systemd-journal-remote)" >&2
    exit 3
fi

exec "$remote" -o "$2" - < "$1"
