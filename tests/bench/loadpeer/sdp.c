/* The load peer's SDP: it reads only what it needs from a server's offer or answer (ICE
 * credentials, the DTLS fingerprint and role, one IPv4 UDP candidate, the payload types) and
 * writes a BUNDLEd Opus + VP8 description like a browser's. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadpeer.h"
#include "peer_internal.h"

/* The value of the first "a=<name>:" line, copied with a NUL; 0 or -1 when absent/too long. */
static int attr(const char *sdp, const char *name, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof(key), "a=%s:", name);
    const char *s = strstr(sdp, key);
    if (!s)
        return -1;
    s += strlen(key);
    size_t n = strcspn(s, "\r\n");
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* "a=rtpmap:<pt> <codec>/" for a codec name, case-insensitively. */
static int payload_type(const char *sdp, const char *codec)
{
    for (const char *s = strstr(sdp, "a=rtpmap:"); s; s = strstr(s + 1, "a=rtpmap:")) {
        int pt;
        char name[32];
        if (sscanf(s, "a=rtpmap:%d %31[^/]", &pt, name) == 2 && strcasecmp(name, codec) == 0)
            return pt;
    }
    return -1;
}

static int candidate(const char *sdp, struct sockaddr_in *addr)
{
    for (const char *s = strstr(sdp, "a=candidate:"); s; s = strstr(s + 1, "a=candidate:")) {
        char found[64], proto[16], ip[64], typ[16], type[16];
        unsigned comp, port;
        unsigned long prio;
        if (sscanf(s, "a=candidate:%63s %u %15s %lu %63s %u %15s %15s", found, &comp, proto, &prio,
                   ip, &port, typ, type) != 8)
            continue;
        if (strcasecmp(proto, "udp") != 0 || comp != 1 || port == 0 || port > 65535)
            continue;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
            continue;
        *addr = a;
        return 0;
    }
    return -1;
}

int lp_sdp_read_remote(struct lp_peer *p, const char *sdp, struct sockaddr_in *addr)
{
    char fp[160], setup[16];
    if (attr(sdp, "ice-ufrag", p->remote_ufrag, sizeof(p->remote_ufrag)) ||
        attr(sdp, "ice-pwd", p->remote_pwd, sizeof(p->remote_pwd)) ||
        attr(sdp, "fingerprint", fp, sizeof(fp)) || strncasecmp(fp, "sha-256 ", 8) != 0 ||
        dtls_fingerprint_parse(fp + 8, strlen(fp + 8), p->remote_fp) != 0)
        return -1;
    if (candidate(sdp, addr) != 0)
        return -1;
    /* RFC 5763 §5: the answerer that says active is the DTLS client. */
    if (attr(sdp, "setup", setup, sizeof(setup)) == 0 && strcmp(setup, "active") == 0)
        p->dtls_server = true;
    else
        p->dtls_server = false;
    int apt = payload_type(sdp, "opus"), vpt = payload_type(sdp, "VP8");
    if (apt < 0 || vpt < 0)
        return -1;
    p->audio_pt = (uint8_t)apt;
    p->video_pt = (uint8_t)vpt;
    return 0;
}

static int media(char *out, size_t cap, const struct lp_peer *p, const struct lp_run *r, bool offer,
                 bool video)
{
    (void)r;
    uint16_t port = lp_peer_port(p);
    const char *fp = dtls_identity_fingerprint(lp_identity);
    int pt = video ? p->video_pt : p->audio_pt;
    char codec[256];
    if (video)
        snprintf(codec, sizeof(codec),
                 "a=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n"
                 "a=rtcp-fb:%d ccm fir\r\na=rtcp-fb:%d goog-remb\r\n",
                 pt, pt, pt, pt, pt);
    else
        snprintf(codec, sizeof(codec),
                 "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1\r\n", pt, pt);
    return snprintf(out, cap,
                    "m=%s %u UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 127.0.0.1\r\n"
                    "a=mid:%d\r\na=sendrecv\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
                    "a=fingerprint:sha-256 %s\r\na=setup:%s\r\na=rtcp-mux\r\n%s"
                    "a=msid:lp lp-%s\r\na=ssrc:%u cname:loadpeer\r\n"
                    "a=candidate:1 1 udp 2130706431 127.0.0.1 %u typ host\r\n"
                    "a=end-of-candidates\r\n",
                    video ? "video" : "audio", port, pt, video ? 1 : 0, p->local_ufrag,
                    p->local_pwd, fp, offer ? "actpass" : "active", codec,
                    video ? "video" : "audio", video ? p->video_ssrc : p->audio_ssrc, port);
}

int lp_sdp_write(const struct lp_peer *p, const struct lp_run *r, bool offer, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                     "a=group:BUNDLE 0 1\r\na=msid-semantic: WMS lp\r\n",
                     p->audio_ssrc >> 1);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    int a = media(out + n, cap - (size_t)n, p, r, offer, false);
    if (a < 0 || (size_t)(n + a) >= cap)
        return -1;
    n += a;
    int v = media(out + n, cap - (size_t)n, p, r, offer, true);
    if (v < 0 || (size_t)(n + v) >= cap)
        return -1;
    return n + v;
}
