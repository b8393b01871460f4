use oauth_clients::oauth_clients;

// `hosted_domain` and `allowed_tenants` are checked in the ID token: without `openid` there is
// none, and they would restrict nothing.
oauth_clients! {
    google { scope: "email profile", hosted_domain: "example.com" },
    microsoft { tenant: "organizations", scope: "User.Read", allowed_tenants: "72f988bf-86f1-41af-91ab-2d7cd011db47" },
}

fn main() {}
