package app

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestWaitAuthenticated checks that a node token not yet accepted is tried
// again, soon at first and for longer than the backoff takes to reach its
// cap, until the server knows it.
func TestWaitAuthenticated(t *testing.T) {
	client := fake.NewClientset()
	start := time.Now()
	tries := 0
	client.PrependReactor("create", "selfsubjectreviews", func(clienttesting.Action) (bool, runtime.Object, error) {
		tries++
		review := &authenticationv1.SelfSubjectReview{}
		if time.Since(start) > 500*time.Millisecond {
			review.Status.UserInfo.Username = "system:node:n1"
		} else {
			review.Status.UserInfo.Username = "system:anonymous"
		}
		return true, review, nil
	})
	if err := waitAuthenticated(context.Background(), client.AuthenticationV1().SelfSubjectReviews(), "system:node:n1"); err != nil {
		t.Fatalf("waitAuthenticated() = %v", err)
	}
	// 5, 10, 20, 40, 80 ms, then every 100 ms: about 9 tries by 500 ms.
	if tries < 6 || tries > 14 {
		t.Errorf("%d tries in %v, want about 9", tries, time.Since(start))
	}
}
