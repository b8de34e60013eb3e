// Package storage runs the cluster's state store: an etcd server embedded in the
// kubelite process (go.etcd.io/etcd/server/v3/embed), or the address of an external
// etcd cluster, and the storage backend configuration the API server builds on.
//
// Typical use:
//
//	cfg := storage.Config{DataDir: dir}
//	etcd, err := storage.Start(ctx, cfg) // returns once etcd serves clients
//	if err != nil { ... }
//	defer etcd.Close()
//	backend := storagebackend.NewDefaultConfig("/registry", nil)
//	backend.Transport.ServerList = etcd.Endpoints()
//
// Close stops the server and waits until its files are released; it is safe to call
// more than once. Err reports a failure of the running server.
package storage
