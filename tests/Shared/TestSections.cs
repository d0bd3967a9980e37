using Gateway.Engine.Config;

namespace Gateway.Tests.Shared;

/// <summary>Config sections as the classic reader builds them, with file:line locations (test.conf, line 1 = Name).</summary>
internal static class TestSections
{
    public static ConfigSection Output(string plugin, params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry> { new("Name", plugin, new ConfigLocation("test.conf", 1)) };
        var line = 2;
        foreach (var (key, value) in entries)
        {
            list.Add(new ConfigEntry(key, value, new ConfigLocation("test.conf", line++)));
        }

        return new ConfigSection(SectionKind.Output, "OUTPUT", new ConfigLocation("test.conf", 1), list);
    }
}
