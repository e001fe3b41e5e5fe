// Command hello is the program in the test images: it prints a greeting,
// after sleeping for -sleep (a RUN step that takes its time).
package main

import (
	"flag"
	"fmt"
	"time"
)

func main() {
	sleep := flag.Duration("sleep", 0, "how long to sleep first")
	flag.Parse()
	time.Sleep(*sleep)
	fmt.Println("hello")
}
