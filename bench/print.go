package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Describe is a one-line summary of the workload.
func (w *Workload) Describe() string {
	if w.IdleConns > 0 {
		return fmt.Sprintf("%d idle %s connections", w.IdleConns, w.Protocol)
	}
	size := fmt.Sprintf("%d B", w.ValueMin)
	if w.ValueMax != w.ValueMin {
		size = fmt.Sprintf("%d-%d B", w.ValueMin, w.ValueMax)
	}
	dist := w.Dist
	if dist == "zipf" {
		dist = fmt.Sprintf("zipf %.2f", w.ZipfS)
	}
	if w.Duration <= 0 && w.Ops <= 0 {
		return fmt.Sprintf("%s, %d conns, prefill only: %s keys of %s", w.Protocol, w.Conns, human(float64(w.Keys)), size)
	}
	parts := []string{
		w.Protocol,
		fmt.Sprintf("%d conns", w.Conns),
		fmt.Sprintf("get:set %d:%d", w.Gets, w.Sets),
		fmt.Sprintf("%s keys %s", human(float64(w.Keys)), dist),
		size,
	}
	if w.Pipeline > 1 {
		parts = append(parts, fmt.Sprintf("pipeline %d", w.Pipeline))
	}
	if w.MultiGet > 1 {
		parts = append(parts, fmt.Sprintf("multi-get %d", w.MultiGet))
	}
	if w.TTL > 0 {
		parts = append(parts, fmt.Sprintf("ttl %ds", w.TTL))
	}
	if w.Prefill {
		parts = append(parts, "prefilled")
	}
	if w.SetOnMiss {
		parts = append(parts, "set on miss")
	}
	if w.Ops > 0 {
		parts = append(parts, fmt.Sprintf("%s ops", human(float64(w.Ops))))
	} else if w.Duration > 0 {
		parts = append(parts, w.Duration.String())
	}
	if w.Rounds > 1 {
		parts = append(parts, fmt.Sprintf("%d rounds", w.Rounds))
	}
	return strings.Join(parts, ", ")
}

// Print writes the report as a table: one column per server, and the
// ratio of the first to the second when there are two.
func (rep *Report) Print(out io.Writer) {
	fmt.Fprintf(out, "workload: %s\n", rep.Workload.Describe())
	for _, r := range rep.Servers {
		pid := "pid unknown"
		if r.PID > 0 {
			pid = fmt.Sprintf("pid %d", r.PID)
		}
		if r.Name == r.Addr {
			fmt.Fprintf(out, "server %s (%s)", r.Addr, pid)
		} else {
			fmt.Fprintf(out, "server %s: %s (%s)", r.Name, r.Addr, pid)
		}
		if r.TLS != "" {
			fmt.Fprintf(out, " over %s", r.TLS)
		}
		if r.Server.Error != "" {
			fmt.Fprintf(out, ", no /proc figures: %s", r.Server.Error)
		}
		fmt.Fprintln(out)
		if r.Unsupported != "" {
			fmt.Fprintf(out, "  skipped: %s\n", r.Unsupported)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "\t"
	for _, r := range rep.Servers {
		header += r.Name + "\t"
	}
	if rep.Ratios != nil {
		header += "ratio\t"
	}
	fmt.Fprintln(tw, header)
	row := func(label string, ratio float64, val func(r *Result) string) {
		line := label + "\t"
		for _, r := range rep.Servers {
			if r.Unsupported != "" {
				line += "-\t"
				continue
			}
			line += val(r) + "\t"
		}
		if rep.Ratios != nil {
			if ratio > 0 {
				line += fmt.Sprintf("%.2f", ratio)
			} else {
				line += "-"
			}
			line += "\t"
		}
		fmt.Fprintln(tw, line)
	}
	ra := rep.Ratios
	if ra == nil {
		ra = &Ratios{}
	}
	mb := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	if rep.Workload.IdleConns > 0 {
		row("idle conns", 0, func(r *Result) string { return fmt.Sprint(r.Idle.Conns) })
		row("RSS before MB", 0, func(r *Result) string { return mb(r.Idle.RSSBefore) })
		row("RSS after MB", 0, func(r *Result) string { return mb(r.Idle.RSSAfter) })
		row("bytes/conn", ratio(perConn(rep.Servers, 0), perConn(rep.Servers, 1)),
			func(r *Result) string { return fmt.Sprintf("%.0f", r.Idle.BytesPerConn) })
		tw.Flush()
		for _, r := range rep.Servers {
			if r.Idle.Error != "" {
				fmt.Fprintf(out, "%s: stopped at %d connections: %s\n", r.Name, r.Idle.Conns, r.Idle.Error)
			}
		}
		return
	}
	f0 := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	f1 := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	if rep.Workload.Prefill {
		row("prefill s", 0, func(r *Result) string { return fmt.Sprintf("%.2f", r.Prefill.Seconds) })
		row("RSS after prefill MB", 0, func(r *Result) string { return mb(r.Server.RSSAfterPrefill) })
	}
	if len(rep.Servers) > 0 && rep.Servers[0].Seconds > 0 || len(rep.Servers) > 1 && rep.Servers[1].Seconds > 0 {
		row("ops/s", ra.OpsPerSec, func(r *Result) string { return f0(r.OpsPerSec) })
		if rep.Workload.MultiGet > 1 {
			row("keys/s", ra.KeysPerSec, func(r *Result) string { return f0(r.KeysPerSec) })
		}
		row("hit ratio %", ra.HitRatio, func(r *Result) string { return fmt.Sprintf("%.2f", 100*r.HitRatio) })
		row("p50 µs", ra.P50, func(r *Result) string { return f1(r.Latency.P50) })
		row("p90 µs", ra.P90, func(r *Result) string { return f1(r.Latency.P90) })
		row("p99 µs", ra.P99, func(r *Result) string { return f1(r.Latency.P99) })
		row("p99.9 µs", ra.P999, func(r *Result) string { return f1(r.Latency.P999) })
		row("max µs", ra.Max, func(r *Result) string { return f1(r.Latency.Max) })
		row("server CPU µs/op", ra.CPUPerOp, func(r *Result) string { return fmt.Sprintf("%.2f", r.Server.CPUPerOpUS) })
		row("server RSS MB", ra.RSSEnd, func(r *Result) string { return mb(r.Server.RSSEnd) })
		row("ops", 0, func(r *Result) string { return fmt.Sprint(r.Ops) })
		row("errors", 0, func(r *Result) string { return fmt.Sprint(r.ErrorCount) })
		if rep.Workload.Verify {
			row("bad values", 0, func(r *Result) string { return fmt.Sprint(r.BadValues) })
		}
		if rep.Workload.Rounds > 1 {
			row("round ops/s min-max", 0, func(r *Result) string {
				lo, hi := 0.0, 0.0
				for i, rd := range r.Rounds {
					if i == 0 || rd.OpsPerSec < lo {
						lo = rd.OpsPerSec
					}
					if rd.OpsPerSec > hi {
						hi = rd.OpsPerSec
					}
				}
				return fmt.Sprintf("%.0f-%.0f", lo, hi)
			})
		}
	}
	tw.Flush()
	for _, r := range rep.Servers {
		if len(r.Errors) == 0 {
			continue
		}
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		fmt.Fprintf(out, "%s errors:\n", r.Name)
		for _, k := range kinds {
			fmt.Fprintf(out, "  %8d  %s\n", r.Errors[k], k)
		}
	}
}

func perConn(rs []*Result, i int) float64 {
	if i >= len(rs) || rs[i].Idle == nil {
		return 0
	}
	return rs[i].Idle.BytesPerConn
}
