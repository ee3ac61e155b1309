package client

import (
	"context"
	"errors"
	"sync"
)

// multiChunk is how many keys go on one "gets" line; a server's keys are
// sent as pipelined lines of this many, written at once.
const multiChunk = 100

// GetMulti fetches many keys: one pipelined request per server, the
// servers queried in parallel. Missing keys are absent from the map.
// When some servers fail, the items of the others are returned with the
// joined errors; keys of a server that was ejected meanwhile are asked of
// their new server once.
func (c *Client) GetMulti(ctx context.Context, keys []string) (map[string]*Item, error) {
	out := make(map[string]*Item, len(keys))
	var want []string
	var gens map[string]uint64
	if c.near != nil {
		gens = make(map[string]uint64, len(keys))
	}
	for _, k := range keys {
		if !ValidKey(k) {
			return nil, ErrBadKey
		}
		if c.near != nil {
			if e, ok := c.near.get(k); ok {
				out[k] = &Item{Key: k, Value: append([]byte(nil), e.value...), Flags: e.flags}
				continue
			}
			gens[k] = c.near.generation(k)
		}
		want = append(want, k)
	}
	var mu sync.Mutex
	var errs []error
	for round := 0; len(want) > 0 && round < 2; round++ {
		st := c.state.Load()
		if len(st.live) == 0 {
			if c.closing.Load() {
				return out, ErrClosed
			}
			return out, ErrNoServers
		}
		groups := make(map[*node][]string)
		for _, k := range want {
			n := st.live[st.picker.Pick(k)]
			groups[n] = append(groups[n], k)
		}
		var retry []string
		var wg sync.WaitGroup
		for n, ks := range groups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				items, err := n.getMulti(ctx, ks)
				mu.Lock()
				defer mu.Unlock()
				for _, it := range items {
					out[it.Key] = it
				}
				if err == nil {
					return
				}
				var ne *NodeError
				if round == 0 && errors.As(err, &ne) && n.ejected.Load() && ctx.Err() == nil {
					retry = append(retry, ks...)
					return
				}
				errs = append(errs, err)
			}()
		}
		wg.Wait()
		want = retry
	}
	if c.near != nil {
		for _, it := range out {
			if g, asked := gens[it.Key]; asked {
				c.near.set(it.Key, it.Value, it.Flags, g)
			}
		}
	}
	return out, errors.Join(errs...)
}

// getMulti asks n for keys with pipelined "gets" lines.
func (n *node) getMulti(ctx context.Context, keys []string) ([]*Item, error) {
	var items []*Item
	err := n.exec(ctx, true, func(cn *conn) error {
		items = items[:0]
		for i := 0; i < len(keys); i += multiChunk {
			cn.bw.WriteString("gets")
			for _, k := range keys[i:min(i+multiChunk, len(keys))] {
				cn.bw.WriteByte(' ')
				cn.bw.WriteString(k)
			}
			cn.bw.WriteString("\r\n")
		}
		if err := cn.flush(); err != nil {
			return err
		}
		// Values come back in request order, hits only: match each to
		// the next requested key with its name, to reuse its string.
		next := 0
		for i := 0; i < len(keys); i += multiChunk {
			end := min(i+multiChunk, len(keys))
			for {
				l, err := cn.line()
				if err != nil {
					return err
				}
				if string(l) == "END" {
					break
				}
				h, ok := parseValue(l)
				if !ok {
					return cn.replyErr(l)
				}
				if next < i {
					next = i
				}
				for next < end && keys[next] != string(h.key) {
					next++
				}
				if next == end {
					return cn.ioErr("read", ErrProtocol)
				}
				it := &Item{Key: keys[next], Flags: h.flags, CAS: h.cas}
				next++
				if it.Value, err = cn.readData(make([]byte, 0, h.size), h.size); err != nil {
					return err
				}
				items = append(items, it)
			}
		}
		return nil
	})
	return items, err
}
