package app

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
)

func newImagesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Manage the node's container images",
	}
	var dataDir string
	imp := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import OCI or docker image archives into the node's containerd",
		Long: `Import OCI image layouts or docker archives (as "make images", "ctr images export" or
"docker save" write them) into kubelite's containerd, under the names the archives give,
and unpack them so that pods start from them. The containerd of <data-dir>/containerd is
used if it runs, else started for the import and stopped after. Archives placed in
<data-dir>/images are imported when the node agent starts.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			d, err := containerd.StartDaemon(ctx, containerd.DaemonConfig{Dir: filepath.Join(dataDir, "containerd"), Install: true})
			if err != nil {
				return err
			}
			defer d.Close()
			rt, err := containerd.New(ctx, containerd.Config{Address: d.Address, Dir: filepath.Join(dataDir, "pods")})
			if err != nil {
				return err
			}
			defer rt.Close()
			var errs []error
			for _, f := range args {
				names, err := rt.ImportArchive(ctx, f)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				for _, n := range names {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", f, n)
				}
			}
			return errors.Join(errs...)
		},
	}
	imp.Flags().StringVar(&dataDir, "data-dir", DefaultDataDir(), "kubelite's data directory, whose containerd holds the node's images.")
	cmd.AddCommand(imp)
	return cmd
}
