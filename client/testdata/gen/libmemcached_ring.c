/*
 * libmemcached_ring: prints where libmemcached 1.1.x puts each key with
 * MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, the ring gocached's client/ must
 * reproduce bit for bit.
 *
 *   gcc -O2 -o libmemcached_ring libmemcached_ring.c -lmemcached
 *   printf 'foo\nbar\n' | ./libmemcached_ring 10.0.1.1:11211:600 10.0.1.2:11211:300
 *
 * Arguments are servers as host:port:weight, in ring order. Keys are read
 * from standard input, one per line; for each it prints
 * "key<TAB>host:port<TAB>hash" where hash is libmemcached's key hash
 * (hashkit MD5: the first 4 digest bytes, little-endian) in hex.
 * Nothing connects anywhere: the ring only needs the names.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	memcached_st *memc = memcached_create(NULL);
	if (memc == NULL) {
		fprintf(stderr, "memcached_create failed\n");
		return 1;
	}
	if (memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != MEMCACHED_SUCCESS) {
		fprintf(stderr, "KETAMA_WEIGHTED refused\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		char *spec = strdup(argv[i]);
		char *w = strrchr(spec, ':');
		if (w == NULL) {
			fprintf(stderr, "server %s: want host:port:weight\n", argv[i]);
			return 2;
		}
		*w++ = '\0';
		char *p = strrchr(spec, ':');
		if (p == NULL) {
			fprintf(stderr, "server %s: want host:port:weight\n", argv[i]);
			return 2;
		}
		*p++ = '\0';
		memcached_return_t rc = memcached_server_add_with_weight(memc, spec, (in_port_t)atoi(p), (uint32_t)atoi(w));
		if (rc != MEMCACHED_SUCCESS) {
			fprintf(stderr, "add %s: %s\n", argv[i], memcached_strerror(memc, rc));
			return 1;
		}
		free(spec);
	}
	if (memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION) != MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED) {
		fprintf(stderr, "distribution is not CONSISTENT_WEIGHTED\n");
		return 1;
	}
	char line[4096];
	while (fgets(line, sizeof line, stdin) != NULL) {
		size_t n = strcspn(line, "\r\n");
		line[n] = '\0';
		if (n == 0) {
			continue;
		}
		uint32_t idx = memcached_generate_hash(memc, line, n);
		const memcached_instance_st *s = memcached_server_instance_by_position(memc, idx);
		uint32_t h = memcached_generate_hash_value(line, n, MEMCACHED_HASH_MD5);
		printf("%s\t%s:%u\t%08x\n", line, memcached_server_name(s), (unsigned)memcached_server_port(s), h);
	}
	memcached_free(memc);
	return 0;
}
