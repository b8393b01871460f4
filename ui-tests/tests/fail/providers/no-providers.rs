use oauth_clients::oauth_clients;

oauth_clients! {
}

fn main() {}
