// Command gen-schema writes countersign.schema.json, the JSON Schema of
// the config file, from the config package's table of keys:
//
//	go run ./cmd/countersign/config/gen-schema -o countersign.schema.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/countersign/countersign/cmd/countersign/config"
)

func main() {
	out := flag.String("o", "countersign.schema.json", "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen-schema:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	b, err := config.Schema()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
