using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

namespace Gateway.Engine.Aws;

/// <summary>How an AWS output finds its credentials (Fluent Bit's <c>profile</c>, <c>role_arn</c>, <c>external_id</c>, <c>sts_endpoint</c>).</summary>
internal sealed record AwsCredentialOptions(string Region, string? Profile = null, string? RoleArn = null, string? ExternalId = null, string? StsEndpoint = null);

/// <summary>
/// Resolves credentials with AWSSDK.Core's chain, as the SDKs and Fluent Bit's provider chain do: environment,
/// shared profile (<c>profile</c> or <c>AWS_PROFILE</c>), web identity / IRSA (AWSSDK.SecurityToken), ECS/EKS
/// container credentials, then IMDSv2. With <c>role_arn</c> those credentials assume the role through STS
/// (our own refresher, because the SDK's assume-role provider cannot be pointed at <c>sts_endpoint</c>).
/// </summary>
internal static class AwsCredentialsSource
{
    /// <param name="sourceCredentials">Use these instead of the chain (tests; callers that already hold credentials); a role is still assumed with them.</param>
    /// <exception cref="InvalidOperationException">A named profile does not exist.</exception>
    public static AWSCredentials Resolve(AwsCredentialOptions options, AWSCredentials? sourceCredentials = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        AWSCredentials baseCredentials;
        if (sourceCredentials is not null)
        {
            baseCredentials = sourceCredentials;
        }
        else if (!string.IsNullOrEmpty(options.Profile))
        {
            if (!new CredentialProfileStoreChain().TryGetAWSCredentials(options.Profile, out baseCredentials))
            {
                throw new InvalidOperationException($"AWS profile '{options.Profile}' was not found in the shared config/credentials files");
            }
        }
        else
        {
            // Lazy: the chain is walked on first use, so a node without credentials fails at the first send with
            // a clear error instead of failing startup.
            baseCredentials = new DefaultChainCredentials();
        }

        return string.IsNullOrEmpty(options.RoleArn)
            ? baseCredentials
            : new StsAssumeRoleCredentials(baseCredentials, options);
    }

    /// <summary>Defers the SDK's default chain to first use and caches the resolved provider.</summary>
    private sealed class DefaultChainCredentials : AWSCredentials
    {
        private AWSCredentials? _resolved;

        public override ImmutableCredentials GetCredentials() => Resolved().GetCredentials();

        public override Task<ImmutableCredentials> GetCredentialsAsync() => Resolved().GetCredentialsAsync();

        private AWSCredentials Resolved() => _resolved ??= DefaultAWSCredentialsIdentityResolver.GetCredentials(null);
    }

    /// <summary><c>sts:AssumeRole</c> with optional external id, refreshed 5 minutes before expiry.</summary>
    private sealed class StsAssumeRoleCredentials : RefreshingAWSCredentials
    {
        private readonly AWSCredentials _source;
        private readonly AwsCredentialOptions _options;

        public StsAssumeRoleCredentials(AWSCredentials source, AwsCredentialOptions options)
        {
            _source = source;
            _options = options;
            PreemptExpiryTime = TimeSpan.FromMinutes(5);
        }

        protected override CredentialsRefreshState GenerateNewCredentials() =>
            GenerateNewCredentialsAsync().GetAwaiter().GetResult();

        protected override async Task<CredentialsRefreshState> GenerateNewCredentialsAsync()
        {
            var config = new AmazonSecurityTokenServiceConfig();
            if (!string.IsNullOrEmpty(_options.StsEndpoint))
            {
                config.ServiceURL = _options.StsEndpoint;
                config.AuthenticationRegion = _options.Region;
            }
            else
            {
                config.RegionEndpoint = RegionEndpoint.GetBySystemName(_options.Region);
            }

            using var sts = new AmazonSecurityTokenServiceClient(_source, config);
            var request = new AssumeRoleRequest
            {
                RoleArn = _options.RoleArn,
                RoleSessionName = "gateway-" + Environment.MachineName,
                ExternalId = string.IsNullOrEmpty(_options.ExternalId) ? null : _options.ExternalId,
            };
            var response = await sts.AssumeRoleAsync(request).ConfigureAwait(false);
            var c = response.Credentials;
            return new CredentialsRefreshState(
                new ImmutableCredentials(c.AccessKeyId, c.SecretAccessKey, c.SessionToken),
                c.Expiration ?? DateTime.UtcNow.AddMinutes(15));
        }
    }
}
