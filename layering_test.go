package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLayering checks DESIGN.md's rule that imports only point down: each
// package may depend (directly or not) on the project packages listed
// here and on no other. The same check by hand:
//
//	go list -deps ./store | grep gocached/gocached
func TestLayering(t *testing.T) {
	const mod = "github.com/gocached/gocached"
	allowed := map[string][]string{
		"protocol":           {},
		"slab":               {},
		"store":              {"slab"},
		"server":             {"protocol", "store", "slab", "internal/hotkeys"},
		"client":             {"protocol"},
		"bench":              {},
		"internal/casorder":  {},
		"internal/hotkeys":   {},
		"internal/testcerts": {},
		"internal/promtest":  {}, // test support: scrapes /metrics
		// Test support for the tests above server.
		"internal/servertest": {"server", "protocol", "store", "slab", "internal/hotkeys"},
	}
	for pkg, may := range allowed {
		out, err := exec.Command(goTool(t), "list", "-deps", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			rest, ok := strings.CutPrefix(dep, mod+"/")
			if !ok || rest == pkg {
				continue
			}
			if !slices.Contains(may, rest) {
				t.Errorf("%s imports %s (allowed: %v)", pkg, rest, may)
			}
		}
	}
	// Every package of the module is in the table, so a new one is placed
	// on purpose.
	out, err := exec.Command(goTool(t), "list", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(p, mod+"/")
		if !ok {
			continue
		}
		if _, known := allowed[rest]; !known && !strings.HasPrefix(rest, "interop") {
			t.Errorf("package %s has no layering rule in TestLayering", rest)
		}
	}
}

// goTool is the go command on PATH (go test runs with it).
func goTool(t *testing.T) string {
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	return p
}
