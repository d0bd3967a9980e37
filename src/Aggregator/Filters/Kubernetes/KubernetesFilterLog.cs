using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>Kubernetes filter log messages, event ids 1500-1599.</summary>
internal static partial class KubernetesFilterLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Kubernetes filter {Filter}: {Keys} accepted but not used; one cluster-wide list+watch replaces per-pod requests")]
    public static partial void OptionsReplacedByWatch(ILogger logger, string filter, string keys);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Kubernetes filter {Filter}: listed {Count} {Kind} at resourceVersion {ResourceVersion}")]
    public static partial void Listed(ILogger logger, string filter, int count, string kind, string? resourceVersion);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Kubernetes filter {Filter}: {Kind} watch resourceVersion {ResourceVersion} expired (410 Gone); listing again")]
    public static partial void WatchExpired(ILogger logger, string filter, string kind, string? resourceVersion);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Kubernetes filter {Filter}: {Kind} list/watch against {Url} failed; retrying in {Delay}")]
    public static partial void WatchFailed(ILogger logger, Exception exception, string filter, string kind, string url, TimeSpan delay);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Debug, Message = "Kubernetes filter {Filter}: {Kind} watch ended at resourceVersion {ResourceVersion}; resuming")]
    public static partial void WatchResumed(ILogger logger, string filter, string kind, string? resourceVersion);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "Kubernetes filter {Filter}: no metadata for pod {Pod} (tag {Tag}); its records go on without the kubernetes map")]
    public static partial void PodUnknown(ILogger logger, string filter, string pod, string tag);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Warning, Message = "Kubernetes filter {Filter}: GET of pod {Pod} failed")]
    public static partial void PodGetFailed(ILogger logger, Exception exception, string filter, string pod);

    [LoggerMessage(EventId = 1507, Level = LogLevel.Warning, Message = "Kubernetes filter {Filter}: annotation parser '{Parser}' of pod {Pod} is not defined; the annotation is ignored")]
    public static partial void AnnotationParserMissing(ILogger logger, string filter, string parser, string pod);

    [LoggerMessage(EventId = 1508, Level = LogLevel.Debug, Message = "Kubernetes filter {Filter}: tag {Tag} does not name a container log (prefix {Prefix}); records pass untouched")]
    public static partial void TagNotMatched(ILogger logger, string filter, string tag, string prefix);

    [LoggerMessage(EventId = 1509, Level = LogLevel.Warning, Message = "Kubernetes filter {Filter}: cannot read token file {Path}; requests go without a token")]
    public static partial void TokenUnreadable(ILogger logger, Exception exception, string filter, string path);

    [LoggerMessage(EventId = 1510, Level = LogLevel.Warning, Message = "Kubernetes filter {Filter}: preload file {Path} is not a Pod or Namespace object; skipped")]
    public static partial void PreloadFileInvalid(ILogger logger, Exception? exception, string filter, string path);

    [LoggerMessage(EventId = 1511, Level = LogLevel.Information, Message = "Kubernetes filter {Filter}: preloaded {Count} pods from {Directory}")]
    public static partial void Preloaded(ILogger logger, string filter, int count, string directory);

    [LoggerMessage(EventId = 1513, Level = LogLevel.Warning, Message = "Kubernetes filter {Filter}: initial pod list not complete after {Timeout}; continuing without waiting")]
    public static partial void InitialSyncTimedOut(ILogger logger, string filter, TimeSpan timeout);
}
