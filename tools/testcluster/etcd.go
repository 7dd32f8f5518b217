// The embedded etcd server: one member, client URL on loopback, data under the cluster's folder.
package main

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/embed"
)

func newEtcdCommand() *cobra.Command {
	var dataDir, clientURL, peerURL string
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "run a single-member etcd on loopback",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := embed.NewConfig()
			cfg.Dir = dataDir
			cfg.Name = "testcluster"
			client, err := url.Parse(clientURL)
			if err != nil {
				return fmt.Errorf("--client-url: %w", err)
			}
			peer, err := url.Parse(peerURL)
			if err != nil {
				return fmt.Errorf("--peer-url: %w", err)
			}
			cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
			cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
			cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
			cfg.LogLevel = "warn"
			// A test cluster: small WAL/snapshot footprint and fast unsafe fsync are acceptable.
			cfg.UnsafeNoFsync = true
			cfg.SnapshotCount = 10000
			server, err := embed.StartEtcd(cfg)
			if err != nil {
				return err
			}
			defer server.Close()
			<-server.Server.ReadyNotify()
			fmt.Println("etcd ready on", clientURL)
			select {
			case err := <-server.Err():
				return err
			case <-cmd.Context().Done():
				return nil
			}
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "etcd data folder")
	cmd.Flags().StringVar(&clientURL, "client-url", "http://127.0.0.1:2379", "client URL (loopback)")
	cmd.Flags().StringVar(&peerURL, "peer-url", "http://127.0.0.1:2380", "peer URL (loopback)")
	return cmd
}
