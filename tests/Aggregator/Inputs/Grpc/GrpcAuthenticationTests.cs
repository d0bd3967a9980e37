using Gateway.Aggregator.Inputs.Forward;
using Gateway.Aggregator.Inputs.Grpc;
using Gateway.Protos.Client;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace Gateway.Aggregator.Tests.Inputs.Grpc;

/// <summary>Bearer tokens (auth_token_file) and client certificates (tls.verify) on gRPC inputs; health and reflection.</summary>
public sealed class GrpcAuthenticationTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-auth-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Bearer_token_missing_or_wrong_is_Unauthenticated_and_the_right_one_is_accepted()
    {
        var tokens = Path.Combine(_dir, "tokens");
        await File.WriteAllTextAsync(tokens, "# app tokens\ns3cret-a\n\ns3cret-b\n");
        await using var host = await GrpcInputTestHost.StartAsync(new GrpcInputOptions { AuthTokenFile = tokens });

        var missing = await Assert.ThrowsAsync<RpcException>(() => SendOneAsync(host, token: null)).WaitAsync(Wait);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => SendOneAsync(host, token: "s3cret-c")).WaitAsync(Wait);
        await SendOneAsync(host, token: "s3cret-b").WaitAsync(Wait);

        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Contains("missing 'authorization: Bearer <token>'", missing.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Contains("bearer token is not accepted", wrong.Status.Detail, StringComparison.Ordinal);
        Assert.Single(host.Sink.Events());
    }

    [Fact]
    public async Task A_rewritten_token_file_takes_effect_without_a_restart()
    {
        var tokens = Path.Combine(_dir, "tokens");
        await File.WriteAllTextAsync(tokens, "old-token\n");
        await using var host = await GrpcInputTestHost.StartAsync(new GrpcInputOptions { AuthTokenFile = tokens });
        await SendOneAsync(host, "old-token").WaitAsync(Wait);

        // Rotation: the new file replaces the old one (as a Secret update does); a later mtime marks the change.
        var next = Path.Combine(_dir, "tokens.next");
        await File.WriteAllTextAsync(next, "new-token\n");
        File.SetLastWriteTimeUtc(next, DateTime.UtcNow.AddSeconds(5));
        File.Move(next, tokens, overwrite: true);

        var old = await Assert.ThrowsAsync<RpcException>(() => SendOneAsync(host, "old-token")).WaitAsync(Wait);
        await SendOneAsync(host, "new-token").WaitAsync(Wait);

        Assert.Equal(StatusCode.Unauthenticated, old.StatusCode);
        Assert.Equal(2, host.Sink.Events().Count);
    }

    [Fact]
    public async Task Client_certificate_missing_or_from_another_CA_is_Unauthenticated_and_the_CA_signed_one_is_accepted()
    {
        using var pki = TestPki.Create();
        await using var host = await GrpcInputTestHost.StartAsync(new GrpcInputOptions
        {
            Tls = new ForwardTlsOptions(pki.ServerCertificateFile, pki.ServerKeyFile, null, VerifyClient: true, pki.CaFile),
        });

        var missing = await Assert.ThrowsAsync<RpcException>(() => SendOneAsync(host, null, pki, clientCertificate: null)).WaitAsync(Wait);
        var rogue = await Assert.ThrowsAsync<RpcException>(() => SendOneAsync(host, null, pki, pki.Rogue)).WaitAsync(Wait);
        await SendOneAsync(host, null, pki, pki.Client).WaitAsync(Wait);

        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Contains("client certificate is required", missing.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, rogue.StatusCode);
        Assert.Contains("'CN=rogue' does not chain to a trusted CA", rogue.Status.Detail, StringComparison.Ordinal);
        Assert.Single(host.Sink.Events());
    }

    [Fact]
    public async Task Health_answers_without_credentials_and_reflection_lists_the_services_to_an_authenticated_caller()
    {
        var tokens = Path.Combine(_dir, "tokens");
        await File.WriteAllTextAsync(tokens, "t0k3n\n");
        await using var host = await GrpcInputTestHost.StartAsync(new GrpcInputOptions { AuthTokenFile = tokens });
        using var channel = GrpcChannel.ForAddress(host.Address);

        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest()).ResponseAsync.WaitAsync(Wait);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        using var reflection = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(new Metadata { { "authorization", "Bearer t0k3n" } });
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
        Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Wait));
        var services = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        await reflection.RequestStream.CompleteAsync();

        Assert.Contains("gateway.v1.Ingest", services);
        Assert.Contains("opentelemetry.proto.collector.logs.v1.LogsService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    private static async Task SendOneAsync(GrpcInputTestHost host, string? token, TestPki? pki = null, System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate = null)
    {
        await using var client = new GatewayLogClient(new GatewayLogClientOptions
        {
            Address = host.Address,
            BearerToken = token,
            ServerCertificateAuthority = pki?.Authority,
            ClientCertificate = clientCertificate,
        });
        var ack = await client.SendAsync([GatewayValues.CreateEvent("auth.test", DateTimeOffset.UtcNow, [new("ok", true)])]);
        Assert.Equal(1u, ack.Accepted);
    }
}
