/*
 * loadgen - N concurrent clients, each creating appeals one at a time over
 * its own keep-alive connection to the control socket, as fast as answers
 * come back.
 *
 *   loadgen SOCKET FILE.jsonl CLIENTS PER-CLIENT
 *
 * Prints "loadgen: C clients, N creates in S s = R creates/s,
 * p50 X ms, p99 Y ms".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;
static char **lines;
static size_t nlines;
static int per_client;
static double *lat;
static int errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
conn(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		perror(sock_path);
		exit(1);
	}
	return fd;
}

/* Reads one response; returns its status or -1. */
static int
response(int fd)
{
	char buf[8192];
	size_t n = 0;
	char *end, *cl;
	long body;

	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	cl = strcasestr(buf, "Content-Length:");
	body = cl ? strtol(cl + 15, NULL, 10) : 0;
	while ((long)(n - (size_t)(end + 4 - buf)) < body) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	return atoi(buf + 9);
}

static void *
client(void *arg)
{
	int id = (int)(long)arg, fd = conn(), i;
	char head[256];

	for (i = 0; i < per_client; i++) {
		const char
		    *body = lines[(size_t)(id * per_client + i) % nlines];
		size_t len = strlen(body);
		double t = now();
		int st;

		snprintf(head, sizeof(head),
		    "POST /v1/appeals HTTP/1.1\r\n"
		    "Host: x\r\nContent-Length: %zu\r\n\r\n",
		    len);
		if (write(fd, head, strlen(head)) < 0 ||
		    write(fd, body, len) < 0 || (st = response(fd)) != 201) {
			pthread_mutex_lock(&mu);
			errors++;
			pthread_mutex_unlock(&mu);
			close(fd);
			fd = conn();
			continue;
		}
		lat[id * per_client + i] = now() - t;
	}
	close(fd);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	pthread_t *t;
	char *line = NULL;
	size_t len = 0, cap = 0;
	ssize_t got;
	int clients, i, total;
	double t0;
	FILE *f;

	if (argc != 5)
		return 2;
	sock_path = argv[1];
	clients = atoi(argv[3]);
	per_client = atoi(argv[4]);
	if ((f = fopen(argv[2], "r")) == NULL)
		return 1;
	while ((got = getline(&line, &len, f)) > 0) {
		if (nlines == cap) {
			cap = cap ? cap * 2 : 1024;
			lines = realloc(lines, cap * sizeof(*lines));
		}
		line[strcspn(line, "\n")] = '\0';
		lines[nlines++] = strdup(line);
	}
	fclose(f);
	total = clients * per_client;
	lat = calloc((size_t)total, sizeof(*lat));
	t = calloc((size_t)clients, sizeof(*t));
	t0 = now();
	for (i = 0; i < clients; i++)
		pthread_create(&t[i], NULL, client, (void *)(long)i);
	for (i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	t0 = now() - t0;
	qsort(lat, (size_t)total, sizeof(*lat), cmp);
	printf("loadgen: %d clients, %d creates in %.3f s = %.0f creates/s, "
	       "p50 %.2f ms, p99 %.2f ms, %d errors\n",
	    clients, total - errors, t0, (total - errors) / t0,
	    lat[errors + (total - errors) / 2] * 1e3,
	    lat[errors + (total - errors) * 99 / 100] * 1e3, errors);
	return errors ? 1 : 0;
}
