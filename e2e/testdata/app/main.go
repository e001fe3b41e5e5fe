// Command app is the workload of the end-to-end scenarios: built as a
// static binary into images FROM scratch (no base image can be pulled on
// a test machine), it prints its VERSION and then does nothing until
// SIGTERM, so that a Swarm task running it stays up. With HEALTH_ADDR
// set it also answers HTTP there with HEALTH_STATUS (default 200): the
// health URL a deploy's verification probes.
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	fmt.Println("app", os.Getenv("VERSION"))
	if addr := os.Getenv("HEALTH_ADDR"); addr != "" {
		status, err := strconv.Atoi(os.Getenv("HEALTH_STATUS"))
		if err != nil {
			status = http.StatusOK
		}
		go func() {
			err := http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(status)
			}))
			fmt.Println("health:", err)
		}()
	}
	// As PID 1 the process gets no default signal handling: stop on
	// SIGTERM ourselves so that Swarm does not wait out the grace period.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
}
