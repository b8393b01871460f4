use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        scope: "user:email",
    },
}

fn main() {}
