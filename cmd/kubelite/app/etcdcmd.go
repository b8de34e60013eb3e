package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/storage"
)

// localEtcd is how a command on a server's machine reaches its embedded
// etcd: its client URL on loopback, and for a cluster member the member's
// TLS files.
func localEtcd(dataDir string, clientPort int) (string, storage.TLSFiles) {
	if isClusterMember(dataDir) {
		return "https://127.0.0.1:" + strconv.Itoa(clientPort), pki{dir: dataDir + "/pki"}.etcdFiles()
	}
	return "http://127.0.0.1:" + strconv.Itoa(clientPort), storage.TLSFiles{}
}

// etcdFlags are the flags of the commands that reach a server's etcd.
type etcdFlags struct {
	dataDir    string
	clientPort int
	servers    []string
	tls        storage.TLSFiles
}

func (f *etcdFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.dataDir, "data-dir", DefaultDataDir(), "The server's data dir, whose embedded etcd to reach.")
	fs.IntVar(&f.clientPort, "etcd-client-port", 2379, "The embedded etcd's client port.")
	fs.StringSliceVar(&f.servers, "etcd-servers", nil, "etcd client URLs to use instead of the server's embedded etcd.")
	fs.StringVar(&f.tls.CAFile, "etcd-cafile", "", "With --etcd-servers: the CA of etcd's certificates.")
	fs.StringVar(&f.tls.CertFile, "etcd-certfile", "", "With --etcd-servers: the client certificate.")
	fs.StringVar(&f.tls.KeyFile, "etcd-keyfile", "", "With --etcd-servers: the client key.")
}

// endpoints are the etcd client URLs and TLS files the flags name.
func (f *etcdFlags) endpoints() ([]string, storage.TLSFiles) {
	if len(f.servers) > 0 {
		return f.servers, f.tls
	}
	ep, files := localEtcd(f.dataDir, f.clientPort)
	return []string{ep}, files
}

func newEtcdCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "etcd", Short: "Manage the embedded etcd cluster of several servers", Args: cobra.NoArgs}
	member := &cobra.Command{Use: "member", Short: "List and remove the etcd cluster's members", Args: cobra.NoArgs}
	var listFlags, removeFlags etcdFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List the etcd cluster's members",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			eps, files := listFlags.endpoints()
			c, err := storage.NewClient(cmd.Context(), eps, files)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			members, err := storage.ListMembers(ctx, c)
			if err != nil {
				return err
			}
			// The leader as the member the client reached knows it (none
			// while an election runs).
			var leader uint64
			if status, err := c.Status(ctx, c.Endpoints()[0]); err == nil {
				leader = status.Leader
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 10, 4, 3, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tPEER URLS\tCLIENT URLS\tLEADER")
			for _, m := range members {
				isLeader := "false"
				if m.ID == leader {
					isLeader = "true"
				}
				fmt.Fprintf(w, "%x\t%s\t%s\t%s\t%s\n", m.ID, orNone(m.Name), strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","), isLeader)
			}
			return w.Flush()
		},
	}
	listFlags.add(list)
	remove := &cobra.Command{
		Use:   "remove NAME|ID",
		Short: "Remove a member (a lost or retired server) from the etcd cluster",
		Long: `Remove a member from the etcd cluster, through this server's etcd: a server that is
gone for good, or one to retire (it stops once removed). A removed server joins again only
with its etcd data removed and --server and --token.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eps, files := removeFlags.endpoints()
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			m, err := storage.RemoveMember(ctx, eps, files, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed etcd member %s (%x)\n", m.Name, m.ID)
			return nil
		},
	}
	removeFlags.add(remove)
	member.AddCommand(list, remove)
	cmd.AddCommand(member)
	return cmd
}

// removeServer takes the running server of dataDir out of its etcd
// cluster through the other members, waits for its etcd to stop, and moves
// its etcd data aside, so that a later start cannot bring the old member
// back.
func removeServer(ctx context.Context, out io.Writer, dataDir string, clientPort int) error {
	if !isClusterMember(dataDir) {
		return fmt.Errorf("--remove: %s is not the data dir of a server in an etcd cluster", dataDir)
	}
	endpoint, files := localEtcd(dataDir, clientPort)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	self, others, err := storage.RemoveSelf(ctx, endpoint, files)
	if err != nil {
		return fmt.Errorf("--remove: %w", err)
	}
	fmt.Fprintf(out, "removed etcd member %s (%x) from the cluster\n", self.Name, self.ID)
	// Its etcd no longer takes writes: its lease cannot come back. The
	// others drop its address from the kubernetes Service at once.
	if err := removeAPIServerLease(ctx, self, others, files); err != nil {
		fmt.Fprintf(out, "could not remove its API server lease (it expires in %v): %v\n", apiServerLeaseTTL, err)
	}
	// The removed member stops; so does its server.
	_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		c, err := storage.NewClient(ctx, []string{endpoint}, files)
		if err != nil {
			return true, nil
		}
		defer c.Close()
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		defer scancel()
		_, err = c.Status(sctx, endpoint)
		return err != nil, nil
	})
	aside := fmt.Sprintf("%s.removed-%d", etcdDataDir(dataDir), time.Now().Unix())
	if err := os.Rename(etcdDataDir(dataDir), aside); err != nil {
		return fmt.Errorf("move the removed member's data aside: %w", err)
	}
	fmt.Fprintf(out, "moved its etcd data to %s; join again with --server and --token\n", aside)
	return nil
}

func newEtcdSnapshotCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "etcd-snapshot",
		Short: "Save and restore snapshots of the cluster's etcd",
		Args:  cobra.NoArgs,
	}
	var saveFlags etcdFlags
	save := &cobra.Command{
		Use:   "save FILE",
		Short: "Save a consistent snapshot of the server's etcd to FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eps, files := saveFlags.endpoints()
			version, err := storage.SaveSnapshot(cmd.Context(), eps[0], files, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved etcd snapshot %s (etcd %s)\n", args[0], version)
			return nil
		},
	}
	saveFlags.add(save)
	var dataDir, name string
	restore := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a snapshot into a server's data dir, as a new cluster of one",
		Long: `Restore a snapshot made by 'kubelite etcd-snapshot save' into <data-dir>/etcd, which must
not exist (stop the server and move it aside first). The restored store is a new etcd
cluster of one member; its revision moves a billion past the snapshot's, so that clients'
watches and caches start over rather than see old resourceVersions come back. Start the
server on the data dir then (with --cluster-init for a cluster of servers, which the others
join again with their etcd data removed).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := name
			if n == "" && isClusterMember(dataDir) {
				var err error
				if n, err = memberName(dataDir); err != nil {
					return err
				}
			}
			if err := storage.RestoreSnapshot(args[0], etcdDataDir(dataDir), n); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s\n", args[0], etcdDataDir(dataDir))
			return nil
		},
	}
	restore.Flags().StringVar(&dataDir, "data-dir", DefaultDataDir(), "The data dir of the server to restore into; its etcd dir must not exist.")
	restore.Flags().StringVar(&name, "name", "", "The etcd member name. Default: the data dir's, else kubelite's single-server name.")
	cmd.AddCommand(save, restore)
	return cmd
}
