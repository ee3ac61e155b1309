package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gocached/gocached/client"
)

func Example() {
	c, err := client.New(client.Config{
		Servers:      []string{"cache-a:11211", "cache-b:11211", "cache-c:11211"},
		FailureLimit: 2,               // eject a node after 2 failures in a row
		RetryTimeout: 2 * time.Second, // probe it again after 2s
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	if err := c.Set(ctx, &client.Item{Key: "user:42", Value: []byte("Ada"), Expiration: 300}); err != nil {
		log.Print(err)
	}
	it, err := c.Get(ctx, "user:42")
	switch {
	case errors.Is(err, client.ErrCacheMiss):
		fmt.Println("miss")
	case errors.Is(err, client.ErrServerDown):
		fmt.Println("cache unavailable:", err)
	case err == nil:
		fmt.Println(string(it.Value))
	}
}

func ExampleClient_GetOrLoad() {
	c, err := client.New(client.Config{Servers: []string{"127.0.0.1:11211"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// Among all processes asking at once, one runs the query; the others
	// wait for its value (or get the stale one after Invalidate).
	page, err := c.GetOrLoad(context.Background(), "page:/home", time.Minute,
		func(ctx context.Context) ([]byte, error) {
			return []byte("<html>...</html>"), nil // the expensive query
		})
	fmt.Println(len(page), err)
}

func ExampleNewKetama() {
	ring := client.NewKetama([]client.Node{
		{Addr: "10.0.1.1:11211", Weight: 1},
		{Addr: "10.0.1.2:11211", Weight: 1},
		{Addr: "10.0.1.3:11211", Weight: 1},
	})
	fmt.Println(ring.Points())
	// Output: 480
}
