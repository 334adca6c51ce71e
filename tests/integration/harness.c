#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static pid_t spawn(char *const *argv, char *const *env, int *out_fd)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        for (char *const *e = env; e && *e; e++)
            putenv(*e);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    *out_fd = pipefd[0];
    return pid;
}

/* With GATEWAY_LOG_COPY_DIR set (tests/run-all.sh does), every byte a daemon printed is also
 * appended to a file there, for the privacy scan at the end of the run. */
static void copy_output(pid_t pid, const char *data, size_t len)
{
    const char *dir = getenv("GATEWAY_LOG_COPY_DIR");
    if (!dir || !dir[0] || len == 0)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/integration-%ld.log", dir, (long)pid);
    FILE *f = fopen(path, "a");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

void daemon_collect_output(struct daemon *d, int wait_ms)
{
    struct pollfd p = {.fd = d->out_fd, .events = POLLIN};
    while (poll(&p, 1, wait_ms) > 0) {
        size_t room = sizeof(d->log) - 1 - d->log_len;
        if (room == 0)
            break;
        ssize_t n = read(d->out_fd, d->log + d->log_len, room);
        if (n <= 0)
            break;
        copy_output(d->pid, d->log + d->log_len, (size_t)n);
        d->log_len += (size_t)n;
        d->log[d->log_len] = '\0';
        wait_ms = 0;
    }
}

int daemon_start(struct daemon *d, const char *config, char *const *env)
{
    memset(d, 0, sizeof(*d));
    d->out_fd = -1;
    char *argv[4] = {BALIE_GATEWAY_BIN, NULL, NULL, NULL};
    if (config) {
        strcpy(d->config_path, "/tmp/balie-it-XXXXXX");
        int fd = mkstemp(d->config_path);
        if (fd < 0 || write(fd, config, strlen(config)) != (ssize_t)strlen(config))
            return -1;
        close(fd);
        argv[1] = "--config";
        argv[2] = d->config_path;
    }
    d->pid = spawn(argv, env, &d->out_fd);
    if (d->pid < 0)
        return -1;
    long deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        daemon_collect_output(d, 50);
        const char *url = strstr(d->log, "citizen page: http");
        if (url) {
            const char *colon = strstr(url + 20, ":");
            if (colon && sscanf(colon + 1, "%d", &d->port) == 1) {
                snprintf(d->base, sizeof(d->base), "%s://127.0.0.1:%d",
                         strncmp(url + 14, "https", 5) == 0 ? "https" : "http", d->port);
                return 0;
            }
        }
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            daemon_collect_output(d, 100);
            d->pid = 0;
            return -1;
        }
    }
    return -1;
}

int daemon_stop(struct daemon *d, int sig, int timeout_ms, long *elapsed_ms)
{
    long start = now_ms();
    int result = -1;
    if (d->pid > 0) {
        kill(d->pid, sig);
        while (now_ms() - start < timeout_ms) {
            int status;
            if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                d->pid = 0;
                break;
            }
            usleep(5000);
        }
        if (d->pid > 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
            d->pid = 0;
        }
    }
    if (elapsed_ms)
        *elapsed_ms = now_ms() - start;
    daemon_collect_output(d, 50);
    if (d->out_fd >= 0)
        close(d->out_fd);
    d->out_fd = -1;
    if (d->config_path[0])
        unlink(d->config_path);
    return result;
}

int run_gateway(char *const *args, char *const *env, char *out, size_t out_len)
{
    char *argv[16] = {BALIE_GATEWAY_BIN};
    for (int i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    int fd;
    pid_t pid = spawn(argv, env, &fd);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < out_len && (n = read(fd, out + len, out_len - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fd);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct http_response *r = arg;
    char *body = realloc(r->body, r->body_len + size * n + 1);
    if (!body)
        return 0;
    memcpy(body + r->body_len, data, size * n);
    r->body = body;
    r->body_len += size * n;
    r->body[r->body_len] = '\0';
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct http_response *r = arg;
    size_t used = strlen(r->headers);
    size_t len = size * n;
    if (used + len < sizeof(r->headers)) {
        memcpy(r->headers + used, data, len);
        r->headers[used + len] = '\0';
    }
    return len;
}

int http_request(const char *method, const char *url, struct http_response *r)
{
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* keep "..": we test that the server refuses */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L); /* tests use a self-signed certificate */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

void http_response_free(struct http_response *r)
{
    free(r->body);
    r->body = NULL;
}

bool http_header(const struct http_response *r, const char *name, char *out, size_t out_len)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = eol ? (size_t)(eol - v) : strlen(v);
            if (len >= out_len)
                len = out_len - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
        line = eol ? eol + 2 : NULL;
    }
    return false;
}
