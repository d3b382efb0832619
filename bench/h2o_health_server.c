/* A minimal HTTP/1.1 server on h2o's event loop (libh2o-evloop 2.2.5, Debian 12), answering
 * every request with the JSON of gru4rec serve's GET /health. Used only to compare h2o with the
 * Boost.Beast front end of gru4rec serve (throughput, latency, memory per idle connection) on
 * the same endpoint: bench/http_frontends.sh. One event loop, like `serve --io-threads 1`.
 *   h2o_health_server PORT */
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static h2o_globalconf_t config;
static h2o_context_t context;
static h2o_accept_ctx_t accept_context;

static int on_request(h2o_handler_t *self, h2o_req_t *req) {
  static h2o_generator_t generator = {NULL, NULL};
  static const char body[] = "{\"status\":\"ok\"}";
  (void)self;
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 H2O_STRLIT("application/json"));
  req->res.content_length = sizeof body - 1;
  h2o_start_response(req, &generator);
  h2o_iovec_t chunk = h2o_iovec_init(body, sizeof body - 1);
  h2o_send(req, &chunk, 1, H2O_SEND_STATE_FINAL);
  return 0;
}

static void on_accept(h2o_socket_t *listener, const char *error) {
  if (error != NULL) return;
  h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
  if (sock != NULL) h2o_accept(&accept_context, sock);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  h2o_config_init(&config);
  h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
  h2o_handler_t *handler = h2o_create_handler(path, sizeof *handler);
  handler->on_req = on_request;
  h2o_context_init(&context, h2o_evloop_create(), &config);
  accept_context.ctx = &context;
  accept_context.hosts = config.hosts;

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons((uint16_t)atoi(argv[1]));
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, SOMAXCONN) != 0) {
    perror("listen");
    return 1;
  }
  h2o_socket_t *listener = h2o_evloop_socket_create(context.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  h2o_socket_read_start(listener, on_accept);
  while (h2o_evloop_run(context.loop, INT32_MAX) == 0) {
  }
  return 0;
}
