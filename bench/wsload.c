/* WebSocket load generator for bench/ws_load.py: one thread, epoll, no library.
 *
 * A Python client spends more CPU per message than the servers it loads
 * (bench/README.md shows the figures), so the load comes from this small C
 * program, built by ws_load.py with the system C compiler. It speaks just
 * enough RFC 6455 for the benchmark: an upgrade request whose 101 it checks,
 * masked 64-byte text frames out, and server frames parsed in (text frames
 * compared byte for byte with the message sent, pings answered with pongs;
 * anything else is an error).
 *
 *   wsload echo HOST PORT PATH CONNS DEPTH WARMUP_S SECONDS [SERVER_PID]
 *       every connection keeps DEPTH messages in flight: each echo received
 *       sends one more. Counts echoes.
 *   wsload push HOST PORT PATH CONNS 0 WARMUP_S SECONDS
 *       connection 0 sends one message; the server sends it to every
 *       connection; when all CONNS have it, the next round starts. Counts
 *       deliveries (messages received, all connections).
 *   wsload idle HOST PORT PATH CONNS 0 0 0
 *       opens CONNS WebSockets, prints {"ready": N}, holds them until standard
 *       input closes, then prints how many the server closed meanwhile.
 *   wsload fanout HOST PORT PATH CONNS BURST WARMUP_S SECONDS [SERVER_PID]
 *       CONNS subscribers on PATH (WebSocket, or Server-Sent Events when PATH
 *       starts with /sse) and one more WebSocket on /control, which sends
 *       "go:BURST": the server publishes BURST ticks to every subscriber; when
 *       all have them, the next "go". Counts deliveries.
 *   wsload rate HOST PORT PATH CONNS RATE WARMUP_S SECONDS [SERVER_PID]
 *       the same subscribers; /control sends "rate:RATE" once, and the server
 *       publishes RATE ticks a second on its own. Counts deliveries.
 *   wsload stall ...
 *       rate, with subscriber 0 stalled: a 4 KiB receive buffer, and after its
 *       101 it never reads again. The others' deliveries and latency are counted.
 *
 * A tick is a JSON text whose "t" is the server's CLOCK_MONOTONIC time of the
 * publish in nanoseconds: fanout and rate also report publish-to-receive
 * latency (p50, p99, max over the measured seconds, to the microsecond).
 *
 * With SERVER_PID, the CPU time that process used during the measured seconds
 * is reported too (from /proc), next to this program's own.
 *
 * Output: one JSON object per line on stdout. Exit status 1 on any error
 * (refused upgrade, closed connection, unexpected bytes), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 64
#define OUT_FRAME (2 + 4 + PAYLOAD)   /* masked client frame */
#define MAX_DEPTH 256
#define INBUF 4096
#define CONNECTING_MAX 256            /* connects and handshakes in progress at once */

#define HIST_US 1000000                /* latency histogram: 1 µs buckets up to 1 s */

enum { ECHO, PUSH, IDLE, FANOUT, RATE, STALL };

typedef struct {
    int fd;
    int request_sent;
    int upgraded;
    int control;                      /* the /control connection of fanout and rate */
    int stalled;                      /* stall: subscriber 0, which reads no more */
    size_t inlen;
    unsigned char in[INBUF];
    size_t out_due;                   /* bytes of the repeating frame stream still to write */
    size_t out_pos;                   /* offset into that stream, modulo OUT_FRAME */
    unsigned char pong[2 * (2 + 4 + 125)];  /* small frames due: pongs, control messages */
    size_t pong_len;
    long received;                    /* text messages received */
} conn_t;

static int mode, depth, nconns, total_conns, sse, epfd;
static conn_t *conns;
static unsigned char message[PAYLOAD];
static unsigned char out_stream[OUT_FRAME * MAX_DEPTH];
static char request[512], control_request[512];
static const char *path;
static int measuring;
static uint64_t hist[HIST_US + 1];
static long total, round_no, finished, server_closed, upgraded_count;
static int errors, input_closed;

static void fail(conn_t *c, const char *what) {
    errors++;
    fprintf(stderr, "wsload: connection %ld: %s\n", (long)(c - conns), what);
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void want_out(conn_t *c, int on) {
    struct epoll_event ev = {.events = (c->stalled ? 0 : EPOLLIN) | (on ? EPOLLOUT : 0),
                             .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is due: the pending pong first, then frames of the stream. */
static void flush(conn_t *c) {
    while (c->pong_len) {
        ssize_t n = send(c->fd, c->pong, c->pong_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) { want_out(c, 1); return; }
            fail(c, strerror(errno)); return;
        }
        memmove(c->pong, c->pong + n, c->pong_len - n);
        c->pong_len -= n;
    }
    while (c->out_due) {
        size_t chunk = sizeof(out_stream) - c->out_pos;
        if (chunk > c->out_due) chunk = c->out_due;
        ssize_t n = send(c->fd, out_stream + c->out_pos, chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) { want_out(c, 1); return; }
            fail(c, strerror(errno)); return;
        }
        c->out_due -= n;
        c->out_pos = (c->out_pos + n) % OUT_FRAME;
    }
    want_out(c, 0);
}

static void send_messages(conn_t *c, long count) {
    int was_idle = c->out_due == 0 && c->pong_len == 0;
    c->out_due += (size_t)count * OUT_FRAME;
    if (was_idle) flush(c);
}

/* A short text frame (zero mask) on a connection: the control messages. */
static void send_text(conn_t *c, const char *text) {
    size_t len = strlen(text);
    unsigned char *p = c->pong + c->pong_len;
    p[0] = 0x81; p[1] = 0x80 | (unsigned char)len;
    memset(p + 2, 0, 4);
    memcpy(p + 6, text, len);
    c->pong_len += 6 + len;
    if (c->out_due == 0) flush(c);
}

static void next_round(void) {
    round_no++;
    finished = 0;
    if (mode == PUSH) {
        send_messages(&conns[0], 1);
    } else {
        char go[32];
        snprintf(go, sizeof(go), "go:%d", depth);
        send_text(&conns[nconns], go);
    }
}


/* A tick of fanout or rate: count it, and its latency while measuring. */
static int on_tick(conn_t *c, const unsigned char *text, size_t len) {
    const unsigned char *t = memmem(text, len, "\"t\":", 4);
    if (t == NULL) return -1;
    uint64_t sent = 0;
    for (t += 4; t < text + len && *t >= '0' && *t <= '9'; t++) sent = sent * 10 + (*t - '0');
    c->received++;
    total++;
    if (measuring) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t at = (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
        uint64_t us = at > sent ? (at - sent) / 1000 : 0;
        hist[us < HIST_US ? us : HIST_US]++;
    }
    if (mode == FANOUT && c->received == round_no * depth && ++finished == nconns) next_round();
    return 0;
}

static void on_echo_or_push(conn_t *c) {
    c->received++;
    total++;
    if (mode == ECHO) {
        send_messages(c, 1);
    } else if (mode == PUSH && c->received == round_no && ++finished == nconns) {
        next_round();
    }
}

/* Parse whole frames from c->in; 0 while all is well. */
static int parse_frames(conn_t *c) {
    size_t pos = 0;
    while (c->inlen - pos >= 2) {
        unsigned char *f = c->in + pos;
        int opcode = f[0] & 0x0f;
        size_t len = f[1] & 0x7f;
        if (f[1] & 0x80) { fail(c, "masked server frame"); return -1; }
        if ((f[0] & 0x80) == 0) { fail(c, "fragmented frame"); return -1; }
        if (len > 125) { fail(c, "frame longer than 125 bytes"); return -1; }
        if (c->inlen - pos < 2 + len) break;
        if (opcode == 0x1 && (mode == FANOUT || mode >= RATE)) {
            if (c->control || on_tick(c, f + 2, len) < 0) {
                fail(c, "text frame is not a tick"); return -1;
            }
        } else if (opcode == 0x1) {
            if (len != PAYLOAD || memcmp(f + 2, message, PAYLOAD) != 0) {
                fail(c, "text frame is not the message sent"); return -1;
            }
            on_echo_or_push(c);
        } else if (opcode == 0x9) {
            unsigned char *p = c->pong + c->pong_len;
            if (c->pong_len + 6 + len > sizeof(c->pong)) { fail(c, "pings pile up"); return -1; }
            p[0] = 0x8a; p[1] = 0x80 | (unsigned char)len;
            memset(p + 2, 0, 4);              /* zero mask: payload unchanged */
            memcpy(p + 6, f + 2, len);
            c->pong_len += 6 + len;
            if (c->out_due == 0) flush(c);
        } else if (opcode == 0x8) {
            fail(c, "server sent a close frame"); return -1;
        } else {
            fail(c, "unexpected opcode"); return -1;
        }
        if (c->fd < 0) return -1;
        pos += 2 + len;
    }
    memmove(c->in, c->in + pos, c->inlen - pos);
    c->inlen -= pos;
    return 0;
}

/* Server-Sent Events: each complete "data: " line is a tick (the server
 * writes whole events per chunk, so chunk-size lines stand alone). */
static int parse_sse(conn_t *c) {
    size_t pos = 0;
    for (;;) {
        unsigned char *nl = memchr(c->in + pos, '\n', c->inlen - pos);
        if (nl == NULL) break;
        size_t len = (size_t)(nl - (c->in + pos));
        if (len > 6 && memcmp(c->in + pos, "data: ", 6) == 0
                && on_tick(c, c->in + pos + 6, len - 6) < 0) {
            fail(c, "event is not a tick"); return -1;
        }
        pos += len + 1;
    }
    if (pos == 0 && c->inlen == INBUF) { fail(c, "line too long"); return -1; }
    memmove(c->in, c->in + pos, c->inlen - pos);
    c->inlen -= pos;
    return 0;
}

static void on_upgraded(conn_t *c) {
    c->upgraded = 1;
    upgraded_count++;
    if (mode == STALL && c == conns) {          /* stops reading for good */
        struct epoll_event ev = {.events = 0, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->stalled = 1;
    }
    if (mode == ECHO) send_messages(c, depth);
}

static int read_head(conn_t *c) {
    unsigned char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (end == NULL) {
        if (c->inlen == INBUF) { fail(c, "response head too long"); return -1; }
        return 0;
    }
    const char *expected = sse && !c->control ? "HTTP/1.1 200" : "HTTP/1.1 101";
    if (c->inlen < 12 || memcmp(c->in, expected, 12) != 0) {
        fail(c, "upgrade refused"); return -1;
    }
    size_t head = (size_t)(end - c->in) + 4;
    memmove(c->in, c->in + head, c->inlen - head);
    c->inlen -= head;
    on_upgraded(c);
    return 0;
}

static void on_readable(conn_t *c) {
    for (;;) {
        size_t space = INBUF - c->inlen;
        ssize_t n = recv(c->fd, c->in + c->inlen, space, 0);
        if (n == 0) {
            if (mode == IDLE && c->upgraded) {
                server_closed++;
                epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
            } else {
                fail(c, "server closed the connection");
            }
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN) fail(c, strerror(errno));
            return;
        }
        c->inlen += n;
        if (!c->upgraded && (read_head(c) < 0 || !c->upgraded)) return;
        if (c->stalled) return;
        if ((sse && !c->control ? parse_sse(c) : parse_frames(c)) < 0) return;
        /* Level-triggered: what a short read left, epoll reports again. */
        if ((size_t)n < space) return;
    }
}

static int open_conn(conn_t *c, struct sockaddr_in *addr) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) { perror("wsload: socket"); return -1; }
    int one = 1, small = 4096;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (mode == STALL && c == conns) setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    if (connect(c->fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 && errno != EINPROGRESS) {
        perror("wsload: connect"); return -1;
    }
    /* The request waits in the socket until the connection is made. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
}

static void on_writable(conn_t *c) {
    if (!c->request_sent) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { fail(c, strerror(err)); return; }
        const char *text = c->control ? control_request : request;
        if (send(c->fd, text, strlen(text), MSG_NOSIGNAL) != (ssize_t)strlen(text)) {
            fail(c, "could not send the upgrade request"); return;
        }
        c->request_sent = 1;
        want_out(c, 0);
        return;
    }
    flush(c);
}

static void poll_once(int timeout_ms) {
    struct epoll_event events[512];
    int n = epoll_wait(epfd, events, 512, timeout_ms);
    for (int i = 0; i < n; i++) {
        if (events[i].data.ptr == NULL) { input_closed = 1; continue; }
        conn_t *c = events[i].data.ptr;
        if (c->fd >= 0 && (events[i].events & (EPOLLERR | EPOLLHUP)) && !(events[i].events & EPOLLIN)) {
            fail(c, "socket error");
        }
        if (c->fd >= 0 && (events[i].events & EPOLLOUT)) on_writable(c);
        if (c->fd >= 0 && (events[i].events & EPOLLIN)) on_readable(c);
    }
}

/* Open every connection, CONNECTING_MAX at a time; 0 when all are upgraded. */
static int connect_all(struct sockaddr_in *addr, double deadline) {
    int opened = 0;
    while (upgraded_count < total_conns) {
        while (opened < total_conns && opened - upgraded_count < CONNECTING_MAX) {
            conns[opened].control = opened == nconns;
            if (open_conn(&conns[opened], addr) < 0) return -1;
            opened++;
        }
        poll_once(50);
        if (errors) return -1;
        if (now() > deadline) {
            fprintf(stderr, "wsload: %ld of %d upgraded before the deadline\n",
                    upgraded_count, total_conns);
            return -1;
        }
    }
    return 0;
}

static void run_for(double seconds) {
    double end = now() + seconds;
    while (!errors && now() < end) poll_once(10);
}

/* utime + stime of a process, in seconds; -1 when it cannot be read. */
static double process_cpu(const char *pid) {
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    char *p = strrchr(text, ')');      /* the command name may hold spaces */
    unsigned long utime, stime;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &utime, &stime) != 2) return -1;
    return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

static void build_frames(void) {
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    for (int i = 0; i < PAYLOAD; i++) message[i] = "fastcore-bench-"[i % 15];
    unsigned char frame[OUT_FRAME];
    frame[0] = 0x81;
    frame[1] = 0x80 | PAYLOAD;
    memcpy(frame + 2, mask, 4);
    for (int i = 0; i < PAYLOAD; i++) frame[6 + i] = message[i] ^ mask[i % 4];
    for (int i = 0; i < MAX_DEPTH; i++) memcpy(out_stream + i * OUT_FRAME, frame, OUT_FRAME);
}

static int hold_idle(void) {
    printf("{\"ready\": %ld}\n", upgraded_count);
    fflush(stdout);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
    while (!input_closed) poll_once(1000);    /* standard input readable: the end */
    printf("{\"closed_by_server\": %ld, \"errors\": %d}\n", server_closed, errors);
    return errors ? 1 : 0;
}

/* The microseconds below which ``share`` of the measured latencies fall. */
static long percentile_us(double share) {
    uint64_t count = 0, seen = 0;
    for (long i = 0; i <= HIST_US; i++) count += hist[i];
    if (count == 0) return -1;
    uint64_t target = (uint64_t)(share * (double)count);
    if (target >= count) target = count - 1;
    for (long i = 0; i <= HIST_US; i++) {
        seen += hist[i];
        if (seen > target) return i;
    }
    return HIST_US;
}

static int parse_mode(const char *name) {
    static const char *names[] = {"echo", "push", "idle", "fanout", "rate", "stall"};
    for (int i = 0; i < 6; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

int main(int argc, char **argv) {
    if (argc != 9 && argc != 10) {
        fprintf(stderr, "usage: wsload echo|push|idle|fanout|rate HOST PORT PATH CONNS ARG "
                "WARMUP_S SECONDS [SERVER_PID]\n");
        return 2;
    }
    mode = parse_mode(argv[1]);
    nconns = atoi(argv[5]);
    depth = atoi(argv[6]);                  /* depth, burst or ticks per second */
    double warmup = atof(argv[7]), seconds = atof(argv[8]);
    int limit = mode >= RATE ? 1000000 : MAX_DEPTH;
    if (mode < 0 || nconns < 1 || depth < 0 || depth > limit
            || ((mode == ECHO || mode == FANOUT || mode >= RATE) && depth < 1)) {
        fprintf(stderr, "wsload: bad mode, connection count or depth\n");
        return 2;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
        fprintf(stderr, "wsload: HOST must be an IPv4 address\n");
        return 2;
    }
    path = argv[4];
    sse = (mode == FANOUT || mode >= RATE) && strncmp(path, "/sse", 4) == 0;
    if (sse) {
        snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: %s:%s\r\n"
                 "Accept: text/event-stream\r\n\r\n", path, argv[2], argv[3]);
    } else {
        snprintf(request, sizeof(request),
                 "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 path, argv[2], argv[3]);
    }
    snprintf(control_request, sizeof(control_request),
             "GET /control HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n", argv[2], argv[3]);
    total_conns = nconns + (mode == FANOUT || mode >= RATE);
    build_frames();
    conns = calloc(total_conns, sizeof(conn_t));
    epfd = epoll_create1(0);
    if (connect_all(&addr, now() + 60) < 0) return 1;
    if (mode == IDLE) return hold_idle();
    if (mode == PUSH || mode == FANOUT) next_round();
    if (mode >= RATE) {
        char start[32];
        snprintf(start, sizeof(start), "rate:%d", depth);
        send_text(&conns[nconns], start);
    }
    run_for(warmup);
    const char *server = argc == 10 ? argv[9] : "0";
    long total0 = total;
    measuring = 1;
    double cpu0 = cpu_seconds(), server0 = process_cpu(server), t0 = now();
    run_for(seconds);
    double elapsed = now() - t0, server1 = process_cpu(server);
    printf("{\"messages\": %ld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
           "\"server_cpu_seconds\": %.6f, \"rounds\": %ld, \"p50_us\": %ld, \"p99_us\": %ld, "
           "\"max_us\": %ld, \"errors\": %d}\n",
           total - total0, elapsed, cpu_seconds() - cpu0,
           server0 < 0 || server1 < 0 ? -1.0 : server1 - server0, round_no,
           percentile_us(0.5), percentile_us(0.99), percentile_us(1.0), errors);
    return errors ? 1 : 0;
}
