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

enum { ECHO, PUSH, IDLE };

typedef struct {
    int fd;
    int request_sent;
    int upgraded;
    size_t inlen;
    unsigned char in[INBUF];
    size_t out_due;                   /* bytes of the repeating frame stream still to write */
    size_t out_pos;                   /* offset into that stream, modulo OUT_FRAME */
    unsigned char pong[2 + 4 + 125];
    size_t pong_len;
    long received;                    /* text messages received */
} conn_t;

static int mode, depth, nconns, epfd;
static conn_t *conns;
static unsigned char message[PAYLOAD];
static unsigned char out_stream[OUT_FRAME * MAX_DEPTH];
static char request[512];
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
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
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

static void next_round(void) {
    round_no++;
    finished = 0;
    send_messages(&conns[0], 1);
}

static void on_message(conn_t *c) {
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
        if (opcode == 0x1) {
            if (len != PAYLOAD || memcmp(f + 2, message, PAYLOAD) != 0) {
                fail(c, "text frame is not the message sent"); return -1;
            }
            on_message(c);
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

static void on_upgraded(conn_t *c) {
    c->upgraded = 1;
    upgraded_count++;
    if (mode == ECHO) send_messages(c, depth);
}

static int read_head(conn_t *c) {
    unsigned char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (end == NULL) {
        if (c->inlen == INBUF) { fail(c, "response head too long"); return -1; }
        return 0;
    }
    if (c->inlen < 12 || memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
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
        if (parse_frames(c) < 0) return;
        /* Level-triggered: what a short read left, epoll reports again. */
        if ((size_t)n < space) return;
    }
}

static int open_conn(conn_t *c, struct sockaddr_in *addr) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) { perror("wsload: socket"); return -1; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
        if (send(c->fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
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
    while (upgraded_count < nconns) {
        while (opened < nconns && opened - upgraded_count < CONNECTING_MAX) {
            if (open_conn(&conns[opened], addr) < 0) return -1;
            opened++;
        }
        poll_once(50);
        if (errors) return -1;
        if (now() > deadline) {
            fprintf(stderr, "wsload: %ld of %d upgraded before the deadline\n",
                    upgraded_count, nconns);
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

int main(int argc, char **argv) {
    if (argc != 9 && argc != 10) {
        fprintf(stderr, "usage: wsload echo|push|idle HOST PORT PATH CONNS DEPTH WARMUP_S SECONDS"
                " [SERVER_PID]\n");
        return 2;
    }
    mode = strcmp(argv[1], "echo") == 0 ? ECHO : strcmp(argv[1], "push") == 0 ? PUSH
         : strcmp(argv[1], "idle") == 0 ? IDLE : -1;
    nconns = atoi(argv[5]);
    depth = atoi(argv[6]);
    double warmup = atof(argv[7]), seconds = atof(argv[8]);
    if (mode < 0 || nconns < 1 || depth < 0 || depth > MAX_DEPTH || (mode == ECHO && depth < 1)) {
        fprintf(stderr, "wsload: bad mode, connection count or depth\n");
        return 2;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
        fprintf(stderr, "wsload: HOST must be an IPv4 address\n");
        return 2;
    }
    snprintf(request, sizeof(request),
             "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
             argv[4], argv[2], argv[3]);
    build_frames();
    conns = calloc(nconns, sizeof(conn_t));
    epfd = epoll_create1(0);
    if (connect_all(&addr, now() + 60) < 0) return 1;
    if (mode == IDLE) return hold_idle();
    if (mode == PUSH) next_round();
    run_for(warmup);
    const char *server = argc == 10 ? argv[9] : "0";
    long total0 = total;
    double cpu0 = cpu_seconds(), server0 = process_cpu(server), t0 = now();
    run_for(seconds);
    double elapsed = now() - t0, server1 = process_cpu(server);
    printf("{\"messages\": %ld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
           "\"server_cpu_seconds\": %.6f, \"rounds\": %ld, \"errors\": %d}\n",
           total - total0, elapsed, cpu_seconds() - cpu0,
           server0 < 0 || server1 < 0 ? -1.0 : server1 - server0, round_no, errors);
    return errors ? 1 : 0;
}
