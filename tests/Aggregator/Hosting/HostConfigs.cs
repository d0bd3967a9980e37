using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator.Tests.Hosting;

/// <summary>Builds small in-memory <see cref="ConfigDocument"/>s with real file:line locations.</summary>
internal static class HostConfigs
{
    /// <summary>For configs without outputs: a factory that fails loudly if the host asks for one.</summary>
    public static IOutput NoOutputs(ConfigSection section, Gateway.Aggregator.Outputs.OutputContext context) =>
        throw new InvalidOperationException($"test config has no outputs, but the host asked for {section}");

    public static ConfigDocument Service(params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry>();
        for (var i = 0; i < entries.Length; i++)
        {
            list.Add(new ConfigEntry(entries[i].Key, entries[i].Value, new ConfigLocation("test.conf", i + 2)));
        }

        var section = new ConfigSection(SectionKind.Service, "SERVICE", new ConfigLocation("test.conf", 1), list);
        return new ConfigDocument("test.conf", [section], []);
    }
}
