//go:build interop && !linux

package interop

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
