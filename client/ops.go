package client

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
)

// Item is a cached value.
type Item struct {
	Key   string
	Value []byte
	Flags uint32 // opaque to the server
	// Expiration is the item's lifetime in seconds: relative up to 30
	// days, a unix time beyond; 0 = never expires (memcached's rules).
	Expiration int32
	// CAS is the item's compare-and-swap token, set by Get, GetMulti and
	// GetAndTouch and used by CompareAndSwap.
	CAS uint64
}

// Get fetches key. A missing key is ErrCacheMiss.
func (c *Client) Get(ctx context.Context, key string) (*Item, error) {
	if c.near != nil {
		if e, ok := c.near.get(key); ok {
			return &Item{Key: key, Value: append([]byte(nil), e.value...), Flags: e.flags}, nil
		}
	}
	it := &Item{Key: key}
	var gen uint64
	if c.near != nil {
		gen = c.near.generation(key)
	}
	err := c.withKey(ctx, key, true, func(cn *conn) error {
		var err error
		it.Value, it.Flags, it.CAS, err = cn.get("gets", key, nil, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.near != nil {
		c.near.set(key, it.Value, it.Flags, gen)
	}
	return it, nil
}

// GetValue fetches key's value, appending it to dst, and its flags. With
// a dst of enough capacity it does not allocate. A missing key is
// ErrCacheMiss.
func (c *Client) GetValue(ctx context.Context, key string, dst []byte) ([]byte, uint32, error) {
	if c.near != nil {
		if e, ok := c.near.get(key); ok {
			return append(dst, e.value...), e.flags, nil
		}
	}
	var gen uint64
	if c.near != nil {
		gen = c.near.generation(key)
	}
	var flags uint32
	start := len(dst)
	err := c.withKey(ctx, key, true, func(cn *conn) error {
		var err error
		dst, flags, _, err = cn.get("get", key, nil, dst[:start])
		return err
	})
	if err != nil {
		return dst[:start], 0, err
	}
	if c.near != nil {
		c.near.set(key, dst[start:], flags, gen)
	}
	return dst, flags, nil
}

// GetAndTouch fetches key and sets its expiration (memcached's gats).
func (c *Client) GetAndTouch(ctx context.Context, key string, expiration int32) (*Item, error) {
	it := &Item{Key: key, Expiration: expiration}
	err := c.withKey(ctx, key, true, func(cn *conn) error {
		var err error
		it.Value, it.Flags, it.CAS, err = cn.get("gats", key, &expiration, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// get sends "<cmd> [exp] <key>" and reads one value or a miss, appending
// the value to dst.
func (cn *conn) get(cmd, key string, exp *int32, dst []byte) ([]byte, uint32, uint64, error) {
	cn.bw.WriteString(cmd)
	if exp != nil {
		cn.writeInt(int64(*exp))
	}
	cn.bw.WriteByte(' ')
	cn.bw.WriteString(key)
	cn.bw.WriteString("\r\n")
	if err := cn.flush(); err != nil {
		return dst, 0, 0, err
	}
	l, err := cn.line()
	if err != nil {
		return dst, 0, 0, err
	}
	if string(l) == "END" {
		return dst, 0, 0, ErrCacheMiss
	}
	h, ok := parseValue(l)
	if !ok {
		return dst, 0, 0, cn.replyErr(l)
	}
	if string(h.key) != key {
		return dst, 0, 0, cn.ioErr("read", ErrProtocol)
	}
	if dst == nil {
		dst = make([]byte, 0, h.size)
	}
	if dst, err = cn.readData(dst, h.size); err != nil {
		return dst, 0, 0, err
	}
	if l, err = cn.line(); err != nil {
		return dst, 0, 0, err
	}
	if string(l) != "END" {
		return dst, 0, 0, cn.ioErr("read", ErrProtocol)
	}
	return dst, h.flags, h.cas, nil
}

// Set stores the item.
func (c *Client) Set(ctx context.Context, it *Item) error { return c.store(ctx, "set", it, 0) }

// Add stores the item only if its key is not there (else ErrNotStored).
func (c *Client) Add(ctx context.Context, it *Item) error { return c.store(ctx, "add", it, 0) }

// Replace stores the item only if its key is there (else ErrNotStored).
func (c *Client) Replace(ctx context.Context, it *Item) error {
	return c.store(ctx, "replace", it, 0)
}

// Append adds the item's value after the existing value (ErrNotStored
// when missing). Flags and expiration are ignored.
func (c *Client) Append(ctx context.Context, it *Item) error { return c.store(ctx, "append", it, 0) }

// Prepend adds the item's value before the existing value (ErrNotStored
// when missing). Flags and expiration are ignored.
func (c *Client) Prepend(ctx context.Context, it *Item) error {
	return c.store(ctx, "prepend", it, 0)
}

// CompareAndSwap stores the item only if it was not modified since it
// was read (it.CAS): ErrCASConflict if it was, ErrCacheMiss if it is gone.
func (c *Client) CompareAndSwap(ctx context.Context, it *Item) error {
	return c.store(ctx, "cas", it, it.CAS)
}

func (c *Client) store(ctx context.Context, cmd string, it *Item, cas uint64) error {
	c.invalidateNear(it.Key)
	idempotent := cmd == "set"
	err := c.withKey(ctx, it.Key, idempotent, func(cn *conn) error {
		bw := cn.bw
		bw.WriteString(cmd)
		bw.WriteByte(' ')
		bw.WriteString(it.Key)
		cn.writeUint(uint64(it.Flags))
		cn.writeInt(int64(it.Expiration))
		cn.writeUint(uint64(len(it.Value)))
		if cmd == "cas" {
			cn.writeUint(cas)
		}
		bw.WriteString("\r\n")
		bw.Write(it.Value)
		bw.WriteString("\r\n")
		if err := cn.flush(); err != nil {
			return err
		}
		l, err := cn.line()
		if err != nil {
			return err
		}
		switch string(l) {
		case "STORED":
			return nil
		case "NOT_STORED":
			return ErrNotStored
		case "EXISTS":
			return ErrCASConflict
		case "NOT_FOUND":
			return ErrCacheMiss
		}
		return cn.replyErr(l)
	})
	c.invalidateNear(it.Key)
	return err
}

// Delete removes key; ErrCacheMiss if it was not there.
func (c *Client) Delete(ctx context.Context, key string) error {
	c.invalidateNear(key)
	err := c.withKey(ctx, key, true, func(cn *conn) error {
		cn.writeCmd("delete", key)
		return cn.simple("DELETED")
	})
	c.invalidateNear(key)
	return err
}

// Touch sets key's expiration; ErrCacheMiss if it is not there.
func (c *Client) Touch(ctx context.Context, key string, expiration int32) error {
	return c.withKey(ctx, key, true, func(cn *conn) error {
		cn.bw.WriteString("touch ")
		cn.bw.WriteString(key)
		cn.writeInt(int64(expiration))
		cn.bw.WriteString("\r\n")
		return cn.simple("TOUCHED")
	})
}

// simple flushes the request and reads a one-line reply: want is
// success, NOT_FOUND is ErrCacheMiss.
func (cn *conn) simple(want string) error {
	if err := cn.flush(); err != nil {
		return err
	}
	l, err := cn.line()
	if err != nil {
		return err
	}
	switch string(l) {
	case want:
		return nil
	case "NOT_FOUND":
		return ErrCacheMiss
	}
	return cn.replyErr(l)
}

// Increment adds delta to key's decimal value and returns the result
// (wrapping at 2^64); ErrCacheMiss if key is not there.
func (c *Client) Increment(ctx context.Context, key string, delta uint64) (uint64, error) {
	return c.arith(ctx, "incr", key, delta)
}

// Decrement subtracts delta from key's decimal value, stopping at 0;
// ErrCacheMiss if key is not there.
func (c *Client) Decrement(ctx context.Context, key string, delta uint64) (uint64, error) {
	return c.arith(ctx, "decr", key, delta)
}

func (c *Client) arith(ctx context.Context, cmd, key string, delta uint64) (uint64, error) {
	c.invalidateNear(key)
	var v uint64
	err := c.withKey(ctx, key, false, func(cn *conn) error {
		cn.writeCmd(cmd, key, delta)
		if err := cn.flush(); err != nil {
			return err
		}
		l, err := cn.line()
		if err != nil {
			return err
		}
		if string(l) == "NOT_FOUND" {
			return ErrCacheMiss
		}
		n, err := strconv.ParseUint(string(bytes.TrimRight(l, " ")), 10, 64)
		if err != nil {
			return cn.replyErr(l)
		}
		v = n
		return nil
	})
	c.invalidateNear(key)
	return v, err
}

// FlushAll invalidates every item on every server on the ring.
func (c *Client) FlushAll(ctx context.Context) error {
	if c.near != nil {
		c.near.clear()
	}
	return c.eachNode(ctx, func(n *node) error {
		return n.exec(ctx, true, func(cn *conn) error {
			cn.bw.WriteString("flush_all\r\n")
			return cn.simple("OK")
		})
	})
}

// Stats returns every ring server's "stats" (name to value), by server.
// Servers that fail are left out and their errors joined.
func (c *Client) Stats(ctx context.Context) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	var mu sync.Mutex
	err := c.eachNode(ctx, func(n *node) error {
		m := map[string]string{}
		err := n.exec(ctx, true, func(cn *conn) error {
			cn.bw.WriteString("stats\r\n")
			if err := cn.flush(); err != nil {
				return err
			}
			for {
				l, err := cn.line()
				if err != nil {
					return err
				}
				if string(l) == "END" {
					return nil
				}
				rest, ok := bytes.CutPrefix(l, []byte("STAT "))
				if !ok {
					return cn.replyErr(l)
				}
				k, v, _ := bytes.Cut(rest, []byte(" "))
				m[string(k)] = string(v)
			}
		})
		if err == nil {
			mu.Lock()
			out[n.name] = m
			mu.Unlock()
		}
		return err
	})
	return out, err
}

// Ping asks every ring server for its version.
func (c *Client) Ping(ctx context.Context) error {
	return c.eachNode(ctx, func(n *node) error { return n.probe(ctx) })
}

// eachNode runs f on every live node in parallel and joins the errors.
func (c *Client) eachNode(ctx context.Context, f func(n *node) error) error {
	st := c.state.Load()
	if len(st.live) == 0 {
		if c.closing.Load() {
			return ErrClosed
		}
		return ErrNoServers
	}
	errs := make([]error, len(st.live))
	var wg sync.WaitGroup
	for i, n := range st.live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// invalidateNear drops key from the near cache around a write.
func (c *Client) invalidateNear(key string) {
	if c.near != nil {
		c.near.del(key)
	}
}
