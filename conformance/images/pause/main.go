// Command pause is the program of kubelite's registry.k8s.io/pause image: it
// does nothing until it is told to stop. As a pod's first process (PID 1 of
// the pod's PID namespace when the namespace is shared) it also reaps the
// zombies of processes that were re-parented to it.
//
// It exits 0 on SIGINT or SIGTERM, reaps every exited child on SIGCHLD, and
// prints its version for -v (as upstream's pause does).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const version = "3.10.2"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Printf("pause.go version: %s (kubelite)\n", version)
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "Warning: pause should be the first process")
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		switch sig {
		case syscall.SIGINT, syscall.SIGTERM:
			fmt.Fprintf(os.Stderr, "Shutting down, got signal: %v\n", sig)
			os.Exit(0)
		case syscall.SIGCHLD:
			reap()
		}
	}
}

// reap collects every child that has exited, without blocking. Signals of
// the same kind coalesce, so one SIGCHLD may stand for several children.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
