#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy for one hop of the real stack (booking to Redis, booking to inventory, a service
/// to PostgreSQL), listening on loopback, that carries out the scenario format's network faults
/// on real connections: the process on one side connects to `port` instead of the server.
///
/// Faults act per direction, on bytes as they arrive, so a fault switched on mid-connection hits
/// the next message: `dropReplies` forwards a request and loses its answer (the work happened,
/// the caller never learns it), `blackhole` loses both ways (a partition: connections stay open
/// and silent), `delay` holds every chunk for a while in order (a latency spike), `reset` aborts
/// every connection with a TCP RST and refuses new ones until the mode changes.
///
/// It listens on 127.0.0.1 only and does nothing unless a harness starts one: a plain
/// `overbook serve` never sees it.
public final class FaultProxy: Sendable {
    public enum Mode: Hashable, Sendable {
        case pass
        case delay(Duration)
        case dropReplies
        case blackhole
        case reset
    }

    /// The loopback port callers connect to.
    public let port: Int
    public let upstreamHost: String
    public let upstreamPort: Int
    private let state: Mutex<State>
    private let listener: any Channel

    private struct State {
        var mode: Mode = .pass
        var connections: [ObjectIdentifier: any Channel] = [:]
        var accepted = 0
    }

    /// Starts listening on `127.0.0.1:0` (the kernel picks the port) in front of
    /// `upstreamHost:upstreamPort`.
    public static func start(upstreamHost: String, upstreamPort: Int,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> FaultProxy {
        let box = ProxyBox()
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nothing is read from a caller until the connection to the server is up.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard let proxy = box.proxy else { return inbound.close() }
                return proxy.accept(inbound, group: group)
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let proxy = FaultProxy(listener: listener, upstreamHost: upstreamHost, upstreamPort: upstreamPort)
        box.proxy = proxy
        return proxy
    }

    private init(listener: any Channel, upstreamHost: String, upstreamPort: Int) {
        self.listener = listener
        self.port = listener.localAddress?.port ?? 0
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.state = Mutex(State())
    }

    public var mode: Mode { state.withLock { $0.mode } }

    /// Connections accepted so far.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Switches the fault; `.reset` also aborts every open connection now.
    public func set(_ mode: Mode) {
        let doomed: [any Channel] = state.withLock { state in
            state.mode = mode
            return mode == .reset ? Array(state.connections.values) : []
        }
        for channel in doomed { Self.abort(channel) }
    }

    /// Stops listening and closes every connection.
    public func stop() async {
        let open: [any Channel] = state.withLock { Array($0.connections.values) }
        for channel in open { channel.close(promise: nil) }
        try? await listener.close()
    }

    // MARK: Connections

    private func accept(_ inbound: any Channel, group: any EventLoopGroup) -> EventLoopFuture<Void> {
        let refused: Bool = state.withLock { state in
            state.accepted += 1
            return state.mode == .reset
        }
        if refused {
            Self.abort(inbound)
            return inbound.eventLoop.makeSucceededVoidFuture()
        }
        track(inbound)
        return ClientBootstrap(group: inbound.eventLoop)
            .connect(host: upstreamHost, port: upstreamPort)
            .flatMap { outbound in
                self.track(outbound)
                let toServer = Relay(proxy: self, direction: .request, peer: outbound)
                let toClient = Relay(proxy: self, direction: .reply, peer: inbound)
                return inbound.pipeline.addHandler(toServer)
                    .flatMap { outbound.pipeline.addHandler(toClient) }
                    .flatMap { inbound.setOption(.autoRead, value: true) }
            }
            .flatMapError { error in
                // The server is down: the caller sees its connection close, as without a proxy.
                inbound.close(promise: nil)
                return inbound.eventLoop.makeFailedFuture(error)
            }
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { _ in
            _ = self.state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    /// Closes with `SO_LINGER 0`: the peer gets a TCP RST, as from a crashed host's kernel.
    private static func abort(_ channel: any Channel) {
        guard let socket = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
    }

    fileprivate enum Direction { case request, reply }

    /// What the current mode does to one chunk going `direction`: forward it after this long,
    /// or lose it (`nil`).
    fileprivate func fate(of direction: Direction) -> Duration? {
        switch mode {
        case .pass: .zero
        case .delay(let duration): duration
        case .dropReplies: direction == .reply ? nil : .zero
        case .blackhole, .reset: nil
        }
    }

    /// Forwards what one side sends to the other, as the proxy's mode says; closes the other
    /// side when this one closes.
    private final class Relay: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer

        let proxy: FaultProxy
        let direction: Direction
        let peer: any Channel
        /// When the last delayed chunk goes out: later chunks never overtake it.
        private var lastRelease: NIODeadline = .uptimeNanoseconds(0)

        init(proxy: FaultProxy, direction: Direction, peer: any Channel) {
            self.proxy = proxy
            self.direction = direction
            self.peer = peer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            guard let delay = proxy.fate(of: direction) else { return }
            let peer = self.peer
            if delay == .zero && lastRelease <= .now() {
                peer.writeAndFlush(bytes, promise: nil)
                return
            }
            let release = max(lastRelease, .now() + .milliseconds(milliseconds(delay)))
            lastRelease = release
            context.eventLoop.scheduleTask(deadline: release) { peer.writeAndFlush(bytes, promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            let peer = self.peer
            // After what is still delayed, so a close does not overtake the data before it.
            context.eventLoop.scheduleTask(deadline: max(lastRelease, .now())) { peer.close(promise: nil) }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// Lets the accept callback, built before the proxy exists, reach it.
private final class ProxyBox: @unchecked Sendable {
    private let lock = Mutex<FaultProxy?>(nil)
    var proxy: FaultProxy? {
        get { lock.withLock { $0 } }
        set { lock.withLock { $0 = newValue } }
    }
}
