use oauth_clients::oauth_clients;

oauth_clients! {
    gihtub,
    zzyzx,
}

fn main() {}
