<?php
// PHP's memcached extension (Debian's php-memcached, on libmemcached and
// Cyrus libsasl2) as a real SASL client of moxi: the binary protocol,
// setSaslAuthData(USER, PASSWORD), then KEY set to VALUE and got back.
//
//   php php_memcached_sasl.php HOST PORT USER PASSWORD KEY VALUE
//
// Prints "set ok" or "set failed: CODE MESSAGE", then "get VALUE", "get miss"
// or "get failed: CODE MESSAGE". Exits 0 when the value came back, 1 when an
// operation failed, 2 on a usage error.
if ($argc != 7) {
    fwrite(STDERR, "usage: php php_memcached_sasl.php HOST PORT USER PASSWORD KEY VALUE\n");
    exit(2);
}
[, $host, $port, $user, $password, $key, $value] = $argv;
$m = new Memcached();
$m->setOption(Memcached::OPT_BINARY_PROTOCOL, true);
$m->setOption(Memcached::OPT_COMPRESSION, false);
$m->addServer($host, (int)$port);
$m->setSaslAuthData($user, $password);
$ok = true;
if ($m->set($key, $value)) {
    echo "set ok\n";
} else {
    echo "set failed: ", $m->getResultCode(), " ", $m->getResultMessage(), "\n";
    $ok = false;
}
$got = $m->get($key);
if ($got !== false) {
    echo "get $got\n";
    $ok = $ok && $got === $value;
} elseif ($m->getResultCode() == Memcached::RES_NOTFOUND) {
    echo "get miss\n";
    $ok = false;
} else {
    echo "get failed: ", $m->getResultCode(), " ", $m->getResultMessage(), "\n";
    $ok = false;
}
exit($ok ? 0 : 1);
