package containerd

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// grpcProbe asks the gRPC health service on the pod's address and port
// (from inside its network namespace) for service's status, as upstream's
// prober: SERVING passes, any other answer fails.
func (r *Runtime) grpcProbe(ctx context.Context, pod *corev1.Pod, id string, g *corev1.GRPCAction) (runtime.ProbeResult, string, error) {
	_, ip, nsPath, ok := r.runningNetwork(pod, id)
	if !ok {
		return runtime.ProbeUnknown, "container is not running", nil
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(int(g.Port)))
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("kube-probe/1.37"),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dialIn(ctx, nsPath, "tcp", addr)
		}))
	if err != nil {
		return runtime.ProbeFailure, err.Error(), nil
	}
	defer conn.Close()
	service := ""
	if g.Service != nil {
		service = *g.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return runtime.ProbeFailure, fmt.Sprintf("failed to check service %q: %v", addr, err), nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return runtime.ProbeFailure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus()), nil
	}
	return runtime.ProbeSuccess, "", nil
}
