package app

import (
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes an admin kubeconfig for server into file, with the CA and
// the admin client certificate embedded so that it can be copied anywhere.
func writeKubeconfig(file, server string, p pki) error {
	ca, err := os.ReadFile(p.CAFile())
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(p.AdminCertFile())
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.AdminKeyFile())
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubelite"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["kubelite"] = &clientcmdapi.Context{Cluster: "kubelite", AuthInfo: "admin"}
	cfg.CurrentContext = "kubelite"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	return writeFileAtomic(file, data, 0o600)
}
