// Command gomemcache_modulo prints where bradfitz/gomemcache's
// ServerList.PickServer puts each key read from standard input (one per
// line), as "key<TAB>server". Arguments are the servers, in order; list a
// server twice to weight it. It produced client/testdata/modulo/*.tsv:
//
//	cd $(mktemp -d) && cp .../gomemcache_modulo/main.go . &&
//	go mod init gmcvec && go get github.com/bradfitz/gomemcache/memcache &&
//	go build -o gomemcache_modulo . &&
//	./gomemcache_modulo 127.0.0.1:31211 127.0.0.1:31212 < keys
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/bradfitz/gomemcache/memcache"
)

func main() {
	var ss memcache.ServerList
	if err := ss.SetServers(os.Args[1:]...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		a, err := ss.PickServer(sc.Text())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s\t%s\n", sc.Text(), a)
	}
}
