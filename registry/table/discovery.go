package table

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// maxSliceItems is how many ports or addresses an EndpointSlice cell lists
// before it summarizes the rest as "+ N more...".
const maxSliceItems = 3

// EndpointSlices returns the table convertor for endpoint slices: Name,
// AddressType, Ports, Endpoints, Age.
//
// Ports lists the port numbers, or the port name (else "*") for a port
// without a number; Endpoints lists the addresses of all endpoints. Both show
// at most three entries, then "+ N more...", and read "<unset>" when empty.
func EndpointSlices() rest.TableConvertor {
	slice := discoveryv1.EndpointSlice{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("AddressType", slice["addressType"]),
		column("Ports", slice["ports"]),
		column("Endpoints", slice["endpoints"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(es *discoveryv1.EndpointSlice, now time.Time) []interface{} {
		ports := make([]string, 0, len(es.Ports))
		for _, p := range es.Ports {
			switch {
			case p.Port != nil:
				ports = append(ports, strconv.Itoa(int(*p.Port)))
			case p.Name != nil:
				ports = append(ports, *p.Name)
			default:
				ports = append(ports, "*")
			}
		}
		var addrs []string
		for _, ep := range es.Endpoints {
			addrs = append(addrs, ep.Addresses...)
		}
		return []interface{}{es.Name, string(es.AddressType), firstOfList(ports), firstOfList(addrs), age(es.CreationTimestamp, now)}
	}))
}

// firstOfList joins the first maxSliceItems entries with commas and adds
// "+ N more..." for the rest; a list that joins to nothing is "<unset>".
func firstOfList(list []string) string {
	if len(list) > maxSliceItems {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:maxSliceItems], ","), len(list)-maxSliceItems)
	}
	if cell := strings.Join(list, ","); cell != "" {
		return cell
	}
	return "<unset>"
}
