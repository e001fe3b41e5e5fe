// Command app is the workload of the swarm executor's tests, built as a
// static binary into images FROM scratch. It serves its VERSION over HTTP
// on :8080 until SIGTERM; with -fail it exits 1 at once, like a broken
// release.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	fail := flag.Bool("fail", false, "exit 1 at once")
	flag.Parse()
	if *fail {
		fmt.Fprintln(os.Stderr, "app: failing on purpose")
		os.Exit(1)
	}
	// As PID 1 the process gets no default signal handling: stop on
	// SIGTERM ourselves so that Swarm does not wait out the grace period.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{Addr: ":8080", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, os.Getenv("VERSION"))
	})}
	go srv.ListenAndServe()
	<-ctx.Done()
	srv.Close()
}
