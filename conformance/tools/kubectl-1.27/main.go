// Command kubectl-1.27 is upstream kubectl 1.27: its command tree from
// k8s.io/kubectl, run through component-base's CLI runner (logging flags and
// setup), with errors printed the way kubectl prints them.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		cmdutil.CheckErr(err)
	}
}
