//go:build interop

package interop

import "syscall"

// childAttr makes a started server die with the test binary even if the
// test process is killed before its t.Cleanup functions run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
