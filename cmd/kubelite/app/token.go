package app

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	bootstrapsecret "k8s.io/cluster-bootstrap/util/secrets"
	bootstraptokens "k8s.io/cluster-bootstrap/util/tokens"
)

// Bootstrap tokens that `kubelite token create` makes authenticate in this
// group besides system:bootstrappers, as kubeadm's in
// system:bootstrappers:kubeadm:default-node-token.
const defaultNodeTokenGroup = "system:bootstrappers:kubelite:default-node-token"

// DefaultTokenTTL is how long a bootstrap token lasts unless --ttl says
// otherwise: kubeadm's default.
const DefaultTokenTTL = 24 * time.Hour

// CreateBootstrapToken creates a bootstrap token Secret in kube-system for
// joining nodes (authentication and signing usages) that expires after ttl
// (zero: never), and returns the token "<id>.<secret>".
func CreateBootstrapToken(ctx context.Context, client kubernetes.Interface, ttl time.Duration, description string) (string, error) {
	return createToken(ctx, client, ttl, description, defaultNodeTokenGroup)
}

// CreateServerToken is CreateBootstrapToken for joining servers: the token
// is also in serverTokenGroup, which may fetch the cluster's keys
// (serverBootstrapPath). Give it only to servers.
func CreateServerToken(ctx context.Context, client kubernetes.Interface, ttl time.Duration, description string) (string, error) {
	return createToken(ctx, client, ttl, description, defaultNodeTokenGroup+","+serverTokenGroup)
}

func createToken(ctx context.Context, client kubernetes.Interface, ttl time.Duration, description, groups string) (string, error) {
	for range 5 {
		token, err := bootstraputil.GenerateBootstrapToken()
		if err != nil {
			return "", err
		}
		id, secret := token[:bootstrapapi.BootstrapTokenIDBytes], token[bootstrapapi.BootstrapTokenIDBytes+1:]
		data := map[string]string{
			bootstrapapi.BootstrapTokenIDKey:               id,
			bootstrapapi.BootstrapTokenSecretKey:           secret,
			bootstrapapi.BootstrapTokenUsageAuthentication: "true",
			bootstrapapi.BootstrapTokenUsageSigningKey:     "true",
			bootstrapapi.BootstrapTokenExtraGroupsKey:      groups,
		}
		if description != "" {
			data[bootstrapapi.BootstrapTokenDescriptionKey] = description
		}
		if ttl > 0 {
			data[bootstrapapi.BootstrapTokenExpirationKey] = time.Now().Add(ttl).UTC().Format(time.RFC3339)
		}
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: bootstraputil.BootstrapTokenSecretName(id), Namespace: metav1.NamespaceSystem},
			Type:       bootstrapapi.SecretTypeBootstrapToken,
			StringData: data,
		}
		_, err = client.CoreV1().Secrets(metav1.NamespaceSystem).Create(ctx, s, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue // another token has this id
		}
		if err != nil {
			return "", fmt.Errorf("create bootstrap token: %w", err)
		}
		return token, nil
	}
	return "", errors.New("create bootstrap token: no free token id after 5 tries")
}

// caCertHash is the pin of a CA that `kubelite agent --ca-cert-hash`
// checks: "sha256:" and the hex SHA-256 of its DER SubjectPublicKeyInfo, as
// kubeadm's --discovery-token-ca-cert-hash.
func caCertHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage bootstrap tokens, with which agents join the cluster",
		Args:  cobra.NoArgs,
	}
	var kubeconfig, description string
	var ttl time.Duration
	var printJoin, forServer bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a bootstrap token and print it",
		Long: `Create a bootstrap token (a Secret of type bootstrap.kubernetes.io/token in kube-system)
through the API server that --kubeconfig reaches, and print it. A node agent joins with it:

  kubelite agent --server URL --token TOKEN

The token authenticates as system:bootstrap:<id> in system:bootstrappers, which may ask for
a node client certificate, and signs the cluster-info ConfigMap in kube-public that tells
the agent which CA to trust. It is deleted when it expires.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl < 0 {
				return errors.New("--ttl must not be negative")
			}
			rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			client, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return err
			}
			create, join := CreateBootstrapToken, "agent"
			if forServer {
				create, join = CreateServerToken, "server"
			}
			token, err := create(cmd.Context(), client, ttl, description)
			if err != nil {
				return err
			}
			if !printJoin {
				fmt.Fprintln(cmd.OutOrStdout(), token)
				return nil
			}
			ca := rc.CAData
			if len(ca) == 0 {
				return errors.New("--print-join-command: the kubeconfig names no CA")
			}
			cert, err := parseCert(ca)
			if err != nil {
				return fmt.Errorf("--print-join-command: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kubelite %s --server %s --token %s --ca-cert-hash %s\n", join, rc.Host, token, caCertHash(cert))
			return nil
		},
	}
	fs := create.Flags()
	fs.StringVar(&kubeconfig, "kubeconfig", filepath.Join(DefaultDataDir(), "kubeconfig"), "Path to an admin kubeconfig.")
	fs.DurationVar(&ttl, "ttl", DefaultTokenTTL, "The duration before the token is automatically deleted (e.g. 1s, 2m, 3h). If set to '0', the token will never expire.")
	fs.StringVar(&description, "description", "", "A human friendly description of how this token is used.")
	fs.BoolVar(&forServer, "server", false, "Make a server token, with which another server joins the cluster's embedded etcd (kubelite server --server URL --token T): it may also fetch the cluster's CA keys. Without it, the token joins agents only.")
	fs.BoolVar(&printJoin, "print-join-command", false, "Instead of printing only the token, print the full 'kubelite agent' command needed to join a node using the token.")
	cmd.AddCommand(create, newTokenListCommand(), newTokenDeleteCommand())
	return cmd
}

// adminClient is a client of the admin kubeconfig at path.
func adminClient(path string) (kubernetes.Interface, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: %w", err)
	}
	return kubernetes.NewForConfig(rc)
}

func newTokenListCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List bootstrap tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := adminClient(kubeconfig)
			if err != nil {
				return err
			}
			secrets, err := client.CoreV1().Secrets(metav1.NamespaceSystem).List(cmd.Context(), metav1.ListOptions{
				FieldSelector: fields.OneTermEqualSelector("type", string(bootstrapapi.SecretTypeBootstrapToken)).String(),
			})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 10, 4, 3, ' ', 0)
			fmt.Fprintln(w, "TOKEN\tTTL\tEXPIRES\tUSAGES\tDESCRIPTION\tEXTRA GROUPS")
			for _, sec := range secrets.Items {
				id := bootstrapsecret.GetData(&sec, bootstrapapi.BootstrapTokenIDKey)
				token := bootstraputil.TokenFromIDAndSecret(id, bootstrapsecret.GetData(&sec, bootstrapapi.BootstrapTokenSecretKey))
				ttl, expires := "<forever>", "<never>"
				if exp := bootstrapsecret.GetData(&sec, bootstrapapi.BootstrapTokenExpirationKey); exp != "" {
					expires = exp
					if t, err := time.Parse(time.RFC3339, exp); err == nil {
						ttl = duration.ShortHumanDuration(time.Until(t))
					}
				}
				var usages []string
				for _, u := range bootstrapapi.KnownTokenUsages {
					if bootstrapsecret.GetData(&sec, bootstrapapi.BootstrapTokenUsagePrefix+u) == "true" {
						usages = append(usages, u)
					}
				}
				slices.Sort(usages) // kubeadm's order
				description := bootstrapsecret.GetData(&sec, bootstrapapi.BootstrapTokenDescriptionKey)
				groups := bootstrapsecret.GetData(&sec, bootstrapapi.BootstrapTokenExtraGroupsKey)
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", token, ttl, expires, strings.Join(usages, ","), orNone(description), orNone(groups))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", filepath.Join(DefaultDataDir(), "kubeconfig"), "Path to an admin kubeconfig.")
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func newTokenDeleteCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "delete [token-value or token-id] ...",
		Short: "Delete bootstrap tokens",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := adminClient(kubeconfig)
			if err != nil {
				return err
			}
			for _, arg := range args {
				id := arg
				if tid, _, err := bootstraptokens.ParseToken(arg); err == nil {
					id = tid
				} else if !bootstraputil.IsValidBootstrapTokenID(arg) {
					return fmt.Errorf("%q is neither a bootstrap token nor a token id", arg)
				}
				name := bootstraputil.BootstrapTokenSecretName(id)
				if err := client.CoreV1().Secrets(metav1.NamespaceSystem).Delete(cmd.Context(), name, metav1.DeleteOptions{}); err != nil {
					return fmt.Errorf("delete bootstrap token %s: %w", id, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "bootstrap token %q deleted\n", id)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", filepath.Join(DefaultDataDir(), "kubeconfig"), "Path to an admin kubeconfig.")
	return cmd
}

// clusterInfoKubeconfig is the kubeconfig published in cluster-info: the
// server and its CA, no credentials, as kubeadm publishes it.
func clusterInfoKubeconfig(server string, ca []byte) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[""] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	data, err := clientcmd.Write(*cfg)
	return string(data), err
}

// ensureJoin publishes cluster-info in kube-public and the RBAC objects
// with which nodes join, as kubeadm's init makes them: anonymous users may
// read cluster-info; bootstrappers may create CSRs and have node client
// CSRs approved; nodes may have their renewals approved, and the
// certificates of their network workers (nodeNetworkRoles).
func ensureJoin(ctx context.Context, client kubernetes.Interface, cfg APIServerConfig, ca []byte) error {
	server := "https://" + net.JoinHostPort(cfg.AdvertiseAddress.String(), strconv.Itoa(cfg.SecurePort))
	kubeconfig, err := clusterInfoKubeconfig(server, ca)
	if err != nil {
		return err
	}
	cms := client.CoreV1().ConfigMaps(metav1.NamespacePublic)
	cm, err := cms.Get(ctx, bootstrapapi.ConfigMapClusterInfo, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: bootstrapapi.ConfigMapClusterInfo, Namespace: metav1.NamespacePublic},
			Data:       map[string]string{bootstrapapi.KubeConfigKey: kubeconfig},
		}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create cluster-info: %w", err)
		}
	case err != nil:
		return err
	case cm.Data[bootstrapapi.KubeConfigKey] != kubeconfig:
		// The signatures go with the old content; the bootstrap signer
		// signs the new one.
		cm = cm.DeepCopy()
		cm.Data = map[string]string{bootstrapapi.KubeConfigKey: kubeconfig}
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update cluster-info: %w", err)
		}
	}

	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "kubelite:bootstrap-signer-clusterinfo", Namespace: metav1.NamespacePublic},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"},
			ResourceNames: []string{bootstrapapi.ConfigMapClusterInfo}}},
	}
	if _, err := client.RbacV1().Roles(metav1.NamespacePublic).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create role %s: %w", role.Name, err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: metav1.NamespacePublic},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user.Anonymous}},
	}
	if _, err := client.RbacV1().RoleBindings(metav1.NamespacePublic).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create role binding %s: %w", binding.Name, err)
	}
	serverRole := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "kubelite:server-bootstrap"},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{serverBootstrapPath}}},
	}
	for _, r := range append(nodeNetworkRoles(), *serverRole) {
		if _, err := client.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create cluster role %s: %w", r.Name, err)
		}
	}
	group := func(name string) rbacv1.Subject {
		return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
	}
	for name, b := range map[string]struct {
		role    string
		subject rbacv1.Subject
	}{
		serverRole.Name:                                  {serverRole.Name, group(serverTokenGroup)},
		"kubelite:kubelet-bootstrap":                     {"system:node-bootstrapper", group(bootstrapapi.BootstrapDefaultGroup)},
		"kubelite:node-autoapprove-bootstrap":            {"system:certificates.k8s.io:certificatesigningrequests:nodeclient", group(bootstrapapi.BootstrapDefaultGroup)},
		"kubelite:node-autoapprove-certificate-rotation": {"system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", group(user.NodesGroup)},
		"kubelite:node-autoapprove-proxier":              {nodeProxierCSRRole, group(user.NodesGroup)},
		nodeNetworkRole:                                  {nodeNetworkRole, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user.KubeProxy}},
		nodeProxierApproverRole:                          {nodeProxierApproverRole, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: metav1.NamespaceSystem, Name: "certificate-controller"}},
	} {
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: b.role},
			Subjects:   []rbacv1.Subject{b.subject},
		}
		if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create cluster role binding %s: %w", name, err)
		}
	}
	return nil
}

// The cluster roles of a joined node's network workers (kubelite's own,
// beside upstream's default policy).
const (
	// nodeProxierCSRRole lets nodes have the client certificate of their
	// network workers, system:kube-proxy, approved.
	nodeProxierCSRRole = "kubelite:certificatesigningrequests:nodeproxier"
	// nodeNetworkRole adds to what system:node-proxier grants
	// system:kube-proxy what a node's pod network needs of the whole
	// cluster: namespaces, pods and network policies, for NetworkPolicy
	// peers on any node (what a CNI daemon's own ClusterRole grants it).
	// Its informers list and watch; as system:node-proxier's rules for
	// Services, it grants no get.
	nodeNetworkRole = "kubelite:node-network"
	// nodeProxierApproverRole lets the CSR approver (the kube-system
	// service account certificate-controller) approve requests of the
	// kubernetes.io/kube-apiserver-client signer, which it does for the
	// network workers' certificates only (CertificateApproval asks for the
	// approve verb on the signer; upstream's role grants it the kubelet's
	// signer alone).
	nodeProxierApproverRole = "kubelite:certificate-controller:nodeproxier"
)

// nodeNetworkRoles are the cluster roles of a joined node's network
// workers. A node runs them as system:kube-proxy, the user upstream's
// default policy binds to system:node-proxier (nodes, services, endpoints,
// endpoint slices), with a client certificate it asks for with its own
// identity, as the Node authorizer lets a node itself read only its own
// Node and pods.
func nodeNetworkRoles() []rbacv1.ClusterRole {
	watch := []string{"list", "watch"}
	return []rbacv1.ClusterRole{
		{
			ObjectMeta: metav1.ObjectMeta{Name: nodeProxierCSRRole},
			Rules: []rbacv1.PolicyRule{{Verbs: []string{"create"}, APIGroups: []string{certificatesv1.GroupName},
				Resources: []string{"certificatesigningrequests/nodeproxier"}}},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: nodeProxierApproverRole},
			Rules: []rbacv1.PolicyRule{{Verbs: []string{"approve"}, APIGroups: []string{certificatesv1.GroupName},
				Resources: []string{"signers"}, ResourceNames: []string{certificatesv1.KubeAPIServerClientSignerName}}},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: nodeNetworkRole},
			Rules: []rbacv1.PolicyRule{
				{Verbs: watch, APIGroups: []string{""}, Resources: []string{"namespaces", "pods"}},
				{Verbs: watch, APIGroups: []string{networkingv1.GroupName}, Resources: []string{"networkpolicies"}},
			},
		},
	}
}

// addJoinHook makes the server publish cluster-info and the join RBAC
// objects once it serves (kube-public may still be on its way).
func addJoinHook(gc *genericapiserver.Config, client kubernetes.Interface, cfg APIServerConfig) error {
	ca, err := os.ReadFile(cfg.PKI.CAFile())
	if err != nil {
		return err
	}
	return gc.AddPostStartHook("kubelite-join", func(ctx genericapiserver.PostStartHookContext) error {
		var last error
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			last = ensureJoin(ctx, client, cfg, ca)
			return last == nil, nil
		})
		if err != nil && last != nil {
			return fmt.Errorf("publish cluster-info: %w", last)
		}
		return err
	})
}
