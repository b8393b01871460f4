use oauth_clients::oauth_clients;

oauth_clients! {
    microsoft { tenant: "common/../evil" },
}

fn main() {}
