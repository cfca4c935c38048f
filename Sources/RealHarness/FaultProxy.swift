import BookingCore
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

    /// What happens to one call on this hop, decided as its request arrives (an HTTP request,
    /// a Redis command, a PostgreSQL statement each go out as one write, so one chunk is one
    /// call), as the simulator's message fate. A lost message leaves its connection silent both
    /// ways, as a segment that nothing retransmits would: what follows on it could not be framed
    /// right anyway.
    public struct CallFate: Hashable, Sendable {
        /// The server never sees the request; the caller waits for its timeout.
        public var losesRequest = false
        /// The request is forwarded and served; its reply is lost.
        public var losesReply = false
        /// The request goes out this much later.
        public var requestDelay: Duration = .zero
        /// The reply comes back this much later.
        public var replyDelay: Duration = .zero
        public init() {}
    }

    /// Decides each call's fate (`nil`: untouched); runs on a proxy thread, so it must be quick.
    public typealias CallFateChooser = @Sendable () -> CallFate?

    /// The loopback port callers connect to.
    public let port: Int
    public let upstreamHost: String
    /// Where new connections go (`redirect(toPort:)` moves it, as a failover moves clients).
    public var upstreamPort: Int { state.withLock { $0.upstreamPort } }
    /// How long a connection silenced by a lost message stays open before the proxy resets it,
    /// as TCP's retransmissions would give up (sooner here), so a caller without a timeout of
    /// its own (libpq) does not wait for ever.
    public let silenceLimit: Duration
    private let state: Mutex<State>
    private let listener: any Channel

    private struct State {
        var upstreamPort: Int
        var mode: Mode = .pass
        var chooser: CallFateChooser?
        var connections: [ObjectIdentifier: any Channel] = [:]
        /// The proxy's own ports of its connections to the server, as the server sees them
        /// (PostgreSQL's `pg_stat_activity.client_port`).
        var upstreamPorts: [ObjectIdentifier: Int] = [:]
        var accepted = 0
        /// Chunks held back (a delay mode or a latency spike) and not yet forwarded.
        var delayed = 0
    }

    /// Starts listening on `127.0.0.1:0` (the kernel picks the port) in front of
    /// `upstreamHost:upstreamPort`.
    public static func start(upstreamHost: String, upstreamPort: Int, silenceLimit: Duration = .seconds(10),
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
        let proxy = FaultProxy(listener: listener, upstreamHost: upstreamHost, upstreamPort: upstreamPort, silenceLimit: silenceLimit)
        box.proxy = proxy
        return proxy
    }

    private init(listener: any Channel, upstreamHost: String, upstreamPort: Int, silenceLimit: Duration) {
        self.listener = listener
        self.silenceLimit = silenceLimit
        self.port = listener.localAddress?.port ?? 0
        self.upstreamHost = upstreamHost
        self.state = Mutex(State(upstreamPort: upstreamPort))
    }

    public var mode: Mode { state.withLock { $0.mode } }

    /// Chunks held back and not yet forwarded: messages still in flight on this hop.
    public var delayedChunks: Int { state.withLock { $0.delayed } }

    fileprivate func countDelayed(_ change: Int) {
        state.withLock { $0.delayed += change }
    }

    /// Connections accepted so far.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Switches the fault; `.reset` also aborts every open connection now, and so does the end
    /// of a blackhole: what it swallowed is gone from the middle of each stream, which neither
    /// side could frame any more (a PostgreSQL server would wait for ever for the rest of a
    /// COMMIT, holding its row locks), so each gets a TCP RST, as after a partition TCP gave up on.
    public func set(_ mode: Mode) {
        let doomed: [any Channel] = state.withLock { state in
            let endsBlackhole = state.mode == .blackhole && mode != .blackhole
            state.mode = mode
            return mode == .reset || endsBlackhole ? Array(state.connections.values) : []
        }
        for channel in doomed { Self.abort(channel) }
    }

    /// Sends new connections to `port` on the same host, and resets every open one (with a
    /// TCP RST), so each caller reconnects there: a failover's redirection of its clients.
    public func redirect(toPort port: Int) {
        let doomed: [any Channel] = state.withLock { state in
            state.upstreamPort = port
            return Array(state.connections.values)
        }
        for channel in doomed { Self.abort(channel) }
    }

    /// Decides per call from now on (`nil`: no per-call faults); the mode still applies on top.
    public func onEachCall(_ chooser: CallFateChooser?) {
        state.withLock { $0.chooser = chooser }
    }

    fileprivate var chooser: CallFateChooser? { state.withLock { $0.chooser } }

    /// The local ports of the proxy's open connections to the server: the `client_port` the
    /// server sees for the callers behind this proxy.
    public var upstreamLocalPorts: [Int] { state.withLock { Array($0.upstreamPorts.values) } }

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
            .connect(host: upstreamHost, port: state.withLock { $0.upstreamPort })
            .flatMap { outbound in
                self.track(outbound)
                if let port = outbound.localAddress?.port {
                    let id = ObjectIdentifier(outbound)
                    self.state.withLock { $0.upstreamPorts[id] = port }
                    outbound.closeFuture.whenComplete { _ in _ = self.state.withLock { $0.upstreamPorts.removeValue(forKey: id) } }
                }
                let connection = ConnectionFaults()
                let toServer = Relay(proxy: self, direction: .request, peer: outbound, connection: connection, other: inbound)
                let toClient = Relay(proxy: self, direction: .reply, peer: inbound, connection: connection, other: outbound)
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
    fileprivate static func abort(_ channel: any Channel) {
        guard let socket = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
    }

    fileprivate enum Direction { case request, reply }

    /// The per-call faults pending on one connection. Both of its relays run on one event
    /// loop (the server side is connected on the caller's loop), hence no lock.
    private final class ConnectionFaults: @unchecked Sendable {
        var silenced = false
        var loseNextReply = false
        var delayNextReply: Duration = .zero
    }

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
        let connection: ConnectionFaults
        /// This relay's own side, reset with its peer when a silenced connection times out.
        let other: any Channel
        /// When the last delayed chunk goes out: later chunks never overtake it.
        private var lastRelease: NIODeadline = .uptimeNanoseconds(0)

        init(proxy: FaultProxy, direction: Direction, peer: any Channel, connection: ConnectionFaults, other: any Channel) {
            self.proxy = proxy
            self.direction = direction
            self.peer = peer
            self.connection = connection
            self.other = other
        }

        /// Extra delay for this chunk from a per-call fault, or `nil` if the fault loses it.
        private func callFault(context: ChannelHandlerContext) -> Duration? {
            guard !connection.silenced else { return nil }
            switch direction {
            case .request:
                guard let fate = proxy.chooser?() else { return .zero }
                if fate.losesRequest {
                    silence(context: context)
                    return nil
                }
                connection.loseNextReply = fate.losesReply
                connection.delayNextReply = fate.replyDelay
                return fate.requestDelay
            case .reply:
                if connection.loseNextReply {
                    silence(context: context)
                    return nil
                }
                defer { connection.delayNextReply = .zero }
                return connection.delayNextReply
            }
        }

        private func silence(context: ChannelHandlerContext) {
            connection.silenced = true
            let (peer, other) = (self.peer, self.other)
            context.eventLoop.scheduleTask(in: .milliseconds(milliseconds(proxy.silenceLimit))) {
                FaultProxy.abort(peer)
                FaultProxy.abort(other)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            guard let extra = callFault(context: context), let modeDelay = proxy.fate(of: direction) else { return }
            let delay = modeDelay + extra
            let peer = self.peer
            if delay == .zero && lastRelease <= .now() {
                peer.writeAndFlush(bytes, promise: nil)
                return
            }
            let release = max(lastRelease, .now() + .milliseconds(milliseconds(delay)))
            lastRelease = release
            let proxy = self.proxy
            proxy.countDelayed(1)
            context.eventLoop.scheduleTask(deadline: release) {
                peer.writeAndFlush(bytes, promise: nil)
                proxy.countDelayed(-1)
            }
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
