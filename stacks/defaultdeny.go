package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// defaultDeny fails synth when the template would let a request reach a
// function without the JWT authorizer, unless the route table declares that
// route public, and when a route that the table binds to the caller's
// organization is not on the Lambda authorizer, the only one that reads
// org_id. It inspects the CloudFormation routes themselves, so it also
// catches routes added outside the route table or by escape hatches.
type defaultDeny struct {
	scope  constructs.Construct
	routes []Route
}

// Validate is called by the CDK during synth; each string it returns is an error.
func (d *defaultDeny) Validate() *[]*string {
	public, bound := map[string]bool{}, map[string]bool{}
	for _, route := range d.routes {
		public[route.Key()] = route.Public
		bound[route.Key()] = route.Organization != ""
	}
	var problems []*string
	for _, node := range *d.scope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		route, ok := node.(awsapigatewayv2.CfnRoute)
		if !ok {
			continue
		}
		key := *route.RouteKey()
		authType := ""
		if route.AuthorizationType() != nil {
			authType = *route.AuthorizationType()
		}
		switch {
		case apitemplate.IsPublic(authType) && !public[key]:
			problems = append(problems, jsii.String(fmt.Sprintf(
				"default deny: route %q (%s) has no authorizer but is not declared public in the route table (stacks/routes.go): give it the JWT authorizer, or declare it Public there", key, *node.Node().Path())))
		case (authType == apitemplate.AuthorizationJWT || authType == apitemplate.AuthorizationCustom) && route.AuthorizerId() == nil:
			problems = append(problems, jsii.String(fmt.Sprintf(
				"default deny: route %q (%s) is of type %s but names no authorizer: set its AuthorizerId", key, *node.Node().Path(), authType)))
		case bound[key] && authType != apitemplate.AuthorizationCustom:
			problems = append(problems, jsii.String(fmt.Sprintf(
				"organization binding: route %q (%s) is bound to the caller's organization in the route table (stacks/routes.go), but its authorization type is %q, which cannot read org_id: give it the Lambda authorizer (CUSTOM), as addRoutes does", key, *node.Node().Path(), authType)))
		}
	}
	return &problems
}
