use oauth_clients::oauth_clients;

oauth_clients! {
    forge {
        scope: "user:email",
    },
}

fn main() {}
