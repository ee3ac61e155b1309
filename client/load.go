package client

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/gocached/gocached/protocol"
)

// Loader computes the value of a key that is not cached.
type Loader func(ctx context.Context) ([]byte, error)

// GetOrLoad returns key's value, computing it with loader and caching it
// for ttl (0 = no expiry, rounded up to seconds) when it is missing. It
// protects the loader from stampedes with the meta protocol's leases:
//
//   - a miss is answered with an empty placeholder (mg N, vivify); the
//     one caller told it won (W) runs loader and fills the key (ms with
//     the placeholder's CAS); other callers, in this process or any other
//     client, are told the win is taken (Z) and poll until the value
//     arrives, for at most Config.LoadWait, and then run loader
//     themselves without storing;
//   - a key invalidated with Invalidate is stale (X): one caller wins the
//     reload, the others get the stale value at once;
//   - when less than a tenth of ttl is left (mg R, early recache), one
//     caller reloads while the others keep getting the current value.
//
// Concurrent calls for the same key in this client share one request.
// When the servers cannot be reached, loader is run and its value
// returned uncached. The returned slice must not be modified.
func (c *Client) GetOrLoad(ctx context.Context, key string, ttl time.Duration, loader Loader) ([]byte, error) {
	if !ValidKey(key) {
		return nil, ErrBadKey
	}
	if c.near != nil {
		if e, ok := c.near.get(key); ok {
			return e.value, nil
		}
	}
	for {
		call, leader := c.loads.join(key)
		if leader {
			call.val, call.err = c.getOrLoad(ctx, key, ttl, loader)
			c.loads.finish(key, call)
			return call.val, call.err
		}
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if call.err != nil && isContextErr(call.err) && ctx.Err() == nil {
			continue // the leader gave up, not us: try again
		}
		return call.val, call.err
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// loadGroup coalesces concurrent GetOrLoad calls of one key.
type loadGroup struct {
	mu    sync.Mutex
	calls map[string]*loadCall
}

type loadCall struct {
	done chan struct{}
	val  []byte
	err  error
}

func (g *loadGroup) join(key string) (*loadCall, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c, false
	}
	if g.calls == nil {
		g.calls = map[string]*loadCall{}
	}
	c := &loadCall{done: make(chan struct{})}
	g.calls[key] = c
	return c, true
}

func (g *loadGroup) finish(key string, c *loadCall) {
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	close(c.done)
}

// seconds rounds d up to whole seconds.
func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

func (c *Client) getOrLoad(ctx context.Context, key string, ttl time.Duration, loader Loader) ([]byte, error) {
	lease := seconds(c.cfg.LoadLease)
	exp := seconds(ttl)
	recache := int64(0)
	if exp >= 2 {
		recache = max(exp/10, 1)
	}
	var gen uint64
	if c.near != nil {
		gen = c.near.generation(key)
	}
	deadline := time.Now().Add(c.cfg.LoadWait)
	backoff := 2 * time.Millisecond
	for {
		var r metaGetResult
		err := c.withKey(ctx, key, true, func(cn *conn) error {
			var err error
			r, err = cn.metaGetLease(key, lease, recache)
			return err
		})
		switch {
		case err != nil && (errors.Is(err, ErrServerDown) || errors.Is(err, ErrNoServers)):
			return loader(ctx) // the cache is down: serve uncached
		case err != nil:
			return nil, err
		case r.win:
			v, lerr := loader(ctx)
			switch {
			case lerr == nil:
			case r.stale:
				return nil, lerr
			case len(r.value) == 0 && r.cas != 0:
				c.releaseLease(ctx, key, r.cas) // our placeholder
				return nil, lerr
			default:
				return r.value, nil // early recache failed: the value is still good
			}
			_ = c.withKey(ctx, key, false, func(cn *conn) error {
				return cn.metaSetCAS(key, v, exp, r.cas)
			})
			return v, nil
		case r.stale:
			return r.value, nil // another caller is reloading it
		case r.tokenSent && len(r.value) == 0:
			// Another caller's placeholder: its value is on the way.
			left := time.Until(deadline)
			if left <= 0 {
				return loader(ctx)
			}
			t := time.NewTimer(min(backoff, left))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
			backoff = min(2*backoff, 50*time.Millisecond)
		default:
			if c.near != nil {
				c.near.set(key, r.value, 0, gen)
			}
			return r.value, nil
		}
	}
}

// releaseLease deletes a placeholder whose loader failed, so that the
// next caller wins at once instead of waiting for the lease to expire.
func (c *Client) releaseLease(ctx context.Context, key string, cas uint64) {
	_ = c.withKey(ctx, key, false, func(cn *conn) error {
		cn.bw.WriteString("md ")
		cn.bw.WriteString(key)
		cn.bw.WriteString(" C")
		cn.bw.Write(strconv.AppendUint(cn.num[:0], cas, 10))
		cn.bw.WriteString("\r\n")
		return cn.metaStatus()
	})
}

// Invalidate marks key stale instead of deleting it (md I): the next
// GetOrLoad caller reloads it while the others get the stale value until
// the reload is stored. The stale item lives at most Config.LoadLease.
// ErrCacheMiss if the key is not there.
func (c *Client) Invalidate(ctx context.Context, key string) error {
	c.invalidateNear(key)
	err := c.withKey(ctx, key, true, func(cn *conn) error {
		cn.bw.WriteString("md ")
		cn.bw.WriteString(key)
		cn.bw.WriteString(" I T")
		cn.bw.Write(strconv.AppendInt(cn.num[:0], seconds(c.cfg.LoadLease), 10))
		cn.bw.WriteString("\r\n")
		return cn.metaStatus()
	})
	c.invalidateNear(key)
	return err
}

// metaGetResult is an mg reply with value, CAS and lease flags.
type metaGetResult struct {
	value     []byte
	cas       uint64
	win       bool // W: this caller should (re)load the value
	tokenSent bool // Z: another caller has the win
	stale     bool // X: the item was invalidated
}

// metaGetLease sends "mg <key> v c N<lease>[ R<recache>]".
func (cn *conn) metaGetLease(key string, lease, recache int64) (metaGetResult, error) {
	var r metaGetResult
	bw := cn.bw
	bw.WriteString("mg ")
	bw.WriteString(key)
	bw.WriteString(" v c N")
	bw.Write(strconv.AppendInt(cn.num[:0], lease, 10))
	if recache > 0 {
		bw.WriteString(" R")
		bw.Write(strconv.AppendInt(cn.num[:0], recache, 10))
	}
	bw.WriteString("\r\n")
	if err := cn.flush(); err != nil {
		return r, err
	}
	l, err := cn.line()
	if err != nil {
		return r, err
	}
	if string(l) == "EN" {
		return r, ErrCacheMiss // a server without vivify
	}
	rest, ok := bytes.CutPrefix(l, []byte("VA "))
	if !ok {
		return r, cn.replyErr(l)
	}
	size := -1
	for first := true; len(rest) > 0; first = false {
		var tok []byte
		if i := bytes.IndexByte(rest, ' '); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			tok, rest = rest, nil
		}
		if len(tok) == 0 {
			continue
		}
		if first {
			n, ok := protocol.ParseUint64(tok)
			if !ok || n > 1<<31 {
				return r, cn.ioErr("read", ErrProtocol)
			}
			size = int(n)
			continue
		}
		switch tok[0] {
		case 'c':
			r.cas, _ = protocol.ParseUint64(tok[1:])
		case 'W':
			r.win = true
		case 'Z':
			r.tokenSent = true
		case 'X':
			r.stale = true
		}
	}
	if size < 0 {
		return r, cn.ioErr("read", ErrProtocol)
	}
	r.value, err = cn.readData(make([]byte, 0, size), size)
	return r, err
}

// metaSetCAS fills a won key: "ms <key> <len> T<ttl> C<cas>". Losing to
// another writer (EX, NF, NS) is not an error: the newer value stays.
func (cn *conn) metaSetCAS(key string, value []byte, ttl int64, cas uint64) error {
	bw := cn.bw
	bw.WriteString("ms ")
	bw.WriteString(key)
	cn.writeUint(uint64(len(value)))
	bw.WriteString(" T")
	bw.Write(strconv.AppendInt(cn.num[:0], ttl, 10))
	if cas != 0 {
		bw.WriteString(" C")
		bw.Write(strconv.AppendUint(cn.num[:0], cas, 10))
	}
	bw.WriteString("\r\n")
	bw.Write(value)
	bw.WriteString("\r\n")
	return cn.metaStatus()
}

// metaStatus flushes and reads a meta status line: HD is success, NF is
// ErrCacheMiss, EX ErrCASConflict, NS ErrNotStored.
func (cn *conn) metaStatus() error {
	if err := cn.flush(); err != nil {
		return err
	}
	l, err := cn.line()
	if err != nil {
		return err
	}
	if len(l) >= 2 && (len(l) == 2 || l[2] == ' ') {
		switch string(l[:2]) {
		case "HD":
			return nil
		case "NF":
			return ErrCacheMiss
		case "EX":
			return ErrCASConflict
		case "NS":
			return ErrNotStored
		}
	}
	return cn.replyErr(l)
}
