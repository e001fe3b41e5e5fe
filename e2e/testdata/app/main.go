// Command app is the workload of the end-to-end scenarios: built as a
// static binary into images FROM scratch (no base image can be pulled on
// a test machine), it prints its VERSION and then does nothing until
// SIGTERM, so that a Swarm task running it stays up.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	fmt.Println("app", os.Getenv("VERSION"))
	// As PID 1 the process gets no default signal handling: stop on
	// SIGTERM ourselves so that Swarm does not wait out the grace period.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
}
