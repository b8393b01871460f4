use oauth_clients::oauth_clients;

// A preset's name misspelt, with keys: a provider without endpoints, and the preset suggested.
oauth_clients! {
    gogle { scope: "openid email" },
}

fn main() {}
