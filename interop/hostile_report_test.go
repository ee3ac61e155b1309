//go:build interop && reliability && linux

package interop

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// writeHostileReport writes RELIABILITY.md's contents to path: how the
// table was made, the bounds asserted, the machine, and one row per
// scenario and server.
func writeHostileReport(path string, rows []*runResult, took time.Duration, loadBefore string) error {
	var b strings.Builder
	b.WriteString(`# Reliability: gocached and memcached under hostile clients

This file is written by TestHostile (interop/hostile_test.go, build tags
interop and reliability); rerun it with

` + "```sh" + `
make reliability
` + "```" + `

(which installs memcached when missing, builds bin/gocached and runs
` + "`HOSTILE_REPORT=$PWD/RELIABILITY.md go test -tags 'interop reliability' -run TestHostile ./interop/`" + `).

Each scenario starts a fresh server, memcached 1.6.18 (Debian's) first and
then gocached, as built binaries with the same flags, and fills it past its
-m with 500 KB values. A canary connection then sets and reads back a known
value every 10 ms (every round trip timed and checked), and a writer
connection sets 100-byte values, one round trip at a time; both run in a
process of their own. After 1.5 s of those alone the scenario's hostile
clients run for their window (3-4 s; every loop bounded in time and count,
loopback only), then leave; the server gets 3 s to settle.

Columns: peak RSS is VmHWM over the server's life (the prefill included);
RSS after is VmRSS after the settle; the canary's p99 and max are over all
its round trips; errors are the canary's wrong and failed round trips and
the writer's errors; fds are /proc/PID/fd before the hostile clients, the
most while they ran, and after. Writer: its sets/s during the window over
its sets/s around it (the 1.2 s before and the last 2 s of the settle;
means of 100 ms buckets less the top and bottom tenth), divided by the same
ratio of a control writer that ran at the same time against a second,
untouched server of the same binary and flags; "raw" is the ratio before
that division. The machine is shared with other work, which moves a 3 s
throughput by a third either way; the control cancels much of it, and the
baseline rows (no hostile client) show what is left. The last column lists
what gocached failed.

Asserted on gocached, per scenario: up and answering; no canary or writer
error; canary p99 ≤ ` + canaryBound.String() + ` and ≤ memcached's p99 + ` + canaryP99Slack.String() + `; canary max ≤ ` + canaryBound.String() + `
(up to ` + fmt.Sprint(canaryOutliers) + ` round trips over it only when memcached's canary had some in the same
scenario); fds after = fds before; RSS after ≤ RSS before the hostile clients + ` + fmt.Sprint(memReturnSlackMB) + ` MB; writer ≥ ` + fmt.Sprint(writerMinRatio) + ` (where memcached's writer falls below
that in the same scenario, ≥ memcached's − ` + fmt.Sprint(writerSlack) + `: the hostile clients' load is then work
that either server must do on the machine's cores); peak RSS ≤ max(` + fmt.Sprint(rssRatio) + ` × memcached's,
memcached's + ` + fmt.Sprint(rssSlackMB) + ` MB); and the memory formula

    peak RSS ≤ -m + ` + fmt.Sprint(memPerConnKB) + ` KB × connections + held replies + ` + fmt.Sprint(memFixedMB) + ` MB

(connections: the most the scenario's clients and the two honest ones hold,
at most -c; held replies: README's bound of 64 KB of replies plus one value
for each connection that never reads), plus each scenario's own checks (slowloris gets its MN;
non-readers find memcached's first replies waiting; half-closed clients
receive memcached's bytes, then the close; -c is enforced and the refused
connections are told; the 10 000 connections are all served). A scenario
whose gocached row failed on timing bounds alone (the writer's ratio, the
canary's max) runs once more, both servers, and the second run decides (the
last column says so): the ratio is a 3 s throughput and the max one round
trip, on a shared machine whose spread the baseline rows show. Any other
failure stands.
`)
	fmt.Fprintf(&b, "\nRun %s, %v in all, on %s; load average (1 min) %s before the run, %s after.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second), machine(), loadBefore, loadAvg())
	b.WriteString("| scenario | server | flags | peak RSS | RSS after | canary p99 / max | errors | fds | writer | hostile clients received | failed |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		var got []string
		for _, o := range r.outcomes {
			got = append(got, o.name+": "+o.summary)
		}
		errs := fmt.Sprintf("%d / %d / %d", r.canary.Wrong, r.canary.Failed, r.writerErrs)
		checks := "-"
		if len(r.failed) > 0 {
			checks = strings.Join(r.failed, "; ")
		} else if r.server == "memcached" {
			checks = "(reference)"
		}
		if r.rerun != "" {
			checks += " (" + r.rerun + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s | %s / %s (%d of %d over %v) | %s | %d / %d / %d | %.2f (raw %.2f, %.0f/s) | %s | %s |\n",
			r.scenario, r.server, r.args, mbStr(r.peakKB), mbStr(r.afterKB),
			msStr(r.canary.P99), msStr(r.canary.Max), r.canary.Over, r.canary.N, canaryBound,
			errs, r.fdBase, r.fdPeak, r.fdAfter, r.writerRatio(), r.rawRatio(), r.writerRate,
			cell(strings.Join(got, "; ")), cell(checks))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func msStr(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// cell makes s safe inside a table cell.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

// loadAvg is the machine's 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// machine describes where the run happened.
func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var total int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &total); err == nil {
			mem = fmt.Sprintf("%d GB", (total+(1<<19))>>20)
		}
	}
	mc, _ := exec.Command("memcached", "-V").Output()
	rev, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	return fmt.Sprintf("%d × %s, %s RAM, Linux %s (shared with other work), %s, gocached at commit %s, %s",
		runtime.NumCPU(), cpu, mem, strings.TrimSpace(string(kernel)), strings.TrimSpace(string(mc)),
		strings.TrimSpace(string(rev)), runtime.Version())
}
