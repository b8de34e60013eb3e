// Command kubelite is a Kubernetes cluster in one binary.
package main

import (
	"os"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
)

func main() {
	if err := app.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
