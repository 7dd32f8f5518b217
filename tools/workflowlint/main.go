// Command workflowlint checks GitHub Actions workflow files with the actionlint library,
// pinned in go.mod and fetched like the test cluster's modules, so `make lint` needs no
// binary download (the PyPI wrapper fetches one from GitHub while it installs).
package main

import (
	"fmt"
	"os"

	"github.com/rhysd/actionlint"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: workflowlint WORKFLOW.yml...")
		os.Exit(2)
	}
	// No shellcheck or pyflakes: not on every machine. Without them actionlint still checks
	// syntax, expressions, contexts, action inputs and job dependencies.
	linter, err := actionlint.NewLinter(os.Stdout, &actionlint.LinterOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "workflowlint:", err)
		os.Exit(2)
	}
	problems, err := linter.LintFiles(os.Args[1:], nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "workflowlint:", err)
		os.Exit(2)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}
