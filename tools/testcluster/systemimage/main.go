// Command systemimage is the test cluster's one in-cluster image: `pause` holds a pod's
// namespaces (the CRI sandbox), `dns` answers cluster DNS for Services from the API server.
// It uses the standard library and x/net only, so its image is a few megabytes FROM scratch.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: systemimage pause|dns")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "pause":
		pause()
	case "dns":
		if err := serveDNS(); err != nil {
			fmt.Fprintln(os.Stderr, "dns:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

// pause sleeps as PID 1 of the pod sandbox, reaps orphans, and exits on SIGTERM/SIGINT.
func pause() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
